from django.apps import AppConfig


class DemoConfig(AppConfig):
    """No models: the demo only fills Oscar's and Wagtail's tables through their own APIs."""

    name = "demo"
    verbose_name = "デモデータ"
