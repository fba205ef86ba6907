import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


# Fixtures of the admin tests: logged-in operators and a small scenario of real records.
from .admin_support import operator_client, scenario, staff_client, viewer_client  # noqa: E402,F401
