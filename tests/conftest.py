import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


# Fixtures of the admin tests: logged-in operators and a small scenario of real records.
from .admin_support import operator_client, scenario, staff_client, viewer_client  # noqa: E402,F401


@pytest.fixture
def english(settings, request):
    """Run a test as an English-speaking shop: the admin, the mails and Wagtail's content locale.
    (The suite's shop is Japanese; these tests read English labels.)"""
    from django.utils import translation
    from wagtail.models import Locale

    settings.LANGUAGE_CODE = "en"
    if request.node.get_closest_marker("django_db"):
        Locale.objects.get_or_create(language_code="en")
    with translation.override("en"):
        yield
