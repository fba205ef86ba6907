from django.apps import AppConfig


class BirdsongBenchConfig(AppConfig):
    name = "bench.birdsong_app"
    label = "birdsong_bench"
    default_auto_field = "django.db.models.BigAutoField"
