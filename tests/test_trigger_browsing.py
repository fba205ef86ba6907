"""Browse abandonment: a signed-in customer views products on the shop and does not buy them."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from stepmail_plugin.dispatch import dispatch_due
from stepmail_plugin.models import Enrollment, ProductView
from stepmail_plugin.triggers.browsing import scan_browsing

from .builders import make_product, order_of
from .factories import make_sequence, make_user

BROWSE_MAIL = [
    {
        "subject": "気になる商品はありましたか?",
        "delay": 0,
        "body": [("left_items", {"heading": "最近ご覧になった商品", "button_text": "", "limit": 4})],
    }
]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def view(client, product):
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_viewed_products_not_bought_within_the_threshold_are_mailed(client):
    make_sequence("閲覧フォロー", "product_browsed", steps=BROWSE_MAIL)
    user = make_user()
    shirt, denim = make_product("リネンシャツ"), make_product("デニム")
    start = timezone.now()
    client.force_login(user)
    with time_machine.travel(start, tick=False):
        view(client, shirt)
        view(client, denim)
    assert ProductView.objects.filter(user=user).count() == 2
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        order_of(denim, user=user)  # bought one of them
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        assert scan_browsing()["enrolled"] == 0  # default threshold: 24 hours
    with time_machine.travel(start + timedelta(hours=24, minutes=1), tick=False):
        assert scan_browsing()["enrolled"] == 1
        assert scan_browsing()["enrolled"] == 0
        dispatch_due()
    html = mail.outbox[0].alternatives[0][0]
    assert "リネンシャツ" in html and "デニム" not in html
    assert Enrollment.objects.get().contact.email == "hanako@example.jp"


@pytest.mark.django_db
def test_views_are_debounced_and_anonymous_views_are_not_recorded(client):
    make_sequence("閲覧フォロー", "product_browsed", steps=BROWSE_MAIL)
    shirt = make_product("リネンシャツ")
    view(client, shirt)  # not signed in
    assert not ProductView.objects.exists()
    client.force_login(make_user())
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        view(client, shirt)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        view(client, shirt)  # inside the debounce period: no write
    assert ProductView.objects.get().viewed_at == start


@pytest.mark.django_db
def test_nothing_is_recorded_without_a_browse_sequence(client):
    client.force_login(make_user())
    view(client, make_product())
    assert not ProductView.objects.exists()


@pytest.mark.django_db
def test_a_customer_who_bought_everything_they_viewed_is_not_mailed(client):
    make_sequence("閲覧フォロー", "product_browsed", steps=BROWSE_MAIL)
    user = make_user()
    shirt = make_product("リネンシャツ")
    client.force_login(user)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        view(client, shirt)
        order_of(shirt, user=user)
    with time_machine.travel(start + timedelta(days=2), tick=False):
        assert scan_browsing()["enrolled"] == 0
