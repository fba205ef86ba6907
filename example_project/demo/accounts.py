"""The staff side of the demo: an ``admin`` superuser and the site names."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site as DjangoSite
from django.db import transaction
from wagtail.models import Site as WagtailSite

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"
ADMIN_EMAIL = "admin@example.com"
#: Where the demo runs (example.sh starts runserver here; EXAMPLE_BASE_URL moves it).
HOST = urlsplit(settings.BASE_URL).netloc


def ensure_superuser(log=print):
    """Create ``admin``/``admin`` unless a user of that name exists (its password is left alone).

    Call this before the sequences exist: the plugin enrolls every new user in the welcome
    series once the user is committed, and the shop's admin is not a new customer.
    """
    User = get_user_model()
    user = User.objects.filter(username=ADMIN_USERNAME).first()
    if user is not None:
        log(f"  exists  superuser: {ADMIN_USERNAME}")
        return user
    with transaction.atomic():
        # With names: Wagtail's account page requires them before it saves anything else (the
        # admin language, say).
        user = User.objects.create_superuser(ADMIN_USERNAME, ADMIN_EMAIL, ADMIN_PASSWORD,
                                             first_name="花子", last_name="店長")
    log(f"  created superuser: {ADMIN_USERNAME} / {ADMIN_PASSWORD}")
    return user


def ensure_site_names(log=print) -> None:
    """Name the Django site (Oscar uses it in orders and mails) and the Wagtail site after
    the shop."""
    shop = settings.OSCAR_SHOP_NAME
    django_site = DjangoSite.objects.get_current()
    if (django_site.domain, django_site.name) != (HOST, shop):
        django_site.domain, django_site.name = HOST, shop
        django_site.save()
        log(f"  updated Django site: {HOST} ({shop})")
    wagtail_site = WagtailSite.objects.filter(is_default_site=True).first()
    if wagtail_site is not None and wagtail_site.site_name != shop:
        wagtail_site.site_name = shop
        wagtail_site.save(update_fields=["site_name"])
        log(f"  updated Wagtail site name: {shop}")
