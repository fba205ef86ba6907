import pytest
from wagtail.models import Page


@pytest.mark.django_db
def test_root_exists():
    assert Page.objects.filter(depth=1).exists()
