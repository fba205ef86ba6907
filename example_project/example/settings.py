"""Settings of the example shop: django-oscar + Wagtail + stepmail_plugin.

For local demos only (DEBUG is on, the secret key is public). Environment variables:

``DATABASE_URL``
    Any database dj-database-url understands, e.g. ``postgres://postgres@127.0.0.1:5432/stepmail``.
    Default: the SQLite file ``example_project/db.sqlite3``.
``REDIS_URL``
    Use django-q2's Redis broker, e.g. ``redis://127.0.0.1:6379/0``. Default: the ORM broker, so
    nothing but ``manage.py qcluster`` needs to run.
``EXAMPLE_BASE_URL``
    Where the shop is served, for links in mails and the admin. Default: ``http://127.0.0.1:8000``
    (what ``example.sh`` runs). The browser tests serve a store of their own on another port.
``EMAIL_OUTBOX_DIR``
    The folder of the ``.eml`` files. Default: ``example_project/outbox``.
``EXAMPLE_MEDIA_ROOT``
    Uploaded images (Wagtail, Oscar). Default: ``example_project/media``.
"""

import os
from pathlib import Path

import dj_database_url
from oscar.defaults import *  # noqa: F401,F403  (Oscar's settings: OSCAR_*, HAYSTACK hints…)

BASE_DIR = Path(__file__).resolve().parent.parent  # example_project/

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "stepmail-example-not-secret")
DEBUG = True
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
INTERNAL_IPS = ["127.0.0.1"]

USE_TZ = True
TIME_ZONE = "Asia/Tokyo"
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
# Editors choose the admin's language in their account settings: the languages of this shop.
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
USE_I18N = True
SITE_ID = 1
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    # django-oscar
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    "widget_tweaks",
    "haystack",
    "treebeard",
    "django_tables2",
    "sorl.thumbnail",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail_modeladmin",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    # Step mail and what it runs on
    "django_q",
    "anymail",
    "stepmail_plugin",
    # Demo data and the simulation command of this example
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "example.urls"
WSGI_APPLICATION = "example.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # runserver and the qcluster workers write to the same file: IMMEDIATE transactions make
    # concurrent writers wait for the lock (up to ``timeout`` seconds) instead of failing.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}

# --- django-q2: runs stepmail's dispatcher every minute (schedule made by ``stepmail_setup``) -----
Q_CLUSTER = {
    "name": "stepmail-example",
    "workers": 2,
    # A task still running at ``timeout`` is killed; one not acknowledged after ``retry`` is
    # handed out again. timeout < retry, so a slow dispatch tick is never run twice at once.
    "timeout": 60,
    "retry": 120,
    # After downtime, run a missed schedule once, not once per missed minute (the dispatcher
    # already sends everything that became due meanwhile).
    "catch_up": False,
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth, search, static and media ---------------------------------------------------------------
# Oscar lives under /shop/, so Django's default /accounts/login/ and /accounts/profile/ would 404.
LOGIN_URL = "customer:login"
LOGIN_REDIRECT_URL = "customer:summary"
AUTHENTICATION_BACKENDS = [
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Haystack's database-only engine, with Oscar's catalogue filters applied (example/search.py), so
# the "all products" and category pages list products without a search server.
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "example.search.CatalogueSearchEngine"}}
# The simple engine searches the database directly and has no index to keep up to date (Oscar's
# default realtime processor would warn "update is not implemented" on every product save).
HAYSTACK_SIGNAL_PROCESSOR = "haystack.signals.BaseSignalProcessor"
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("EXAMPLE_MEDIA_ROOT") or BASE_DIR / "media")

# --- Shop and CMS ---------------------------------------------------------------------------------
SHOP_NAME = "こもれび洋品店"
OSCAR_SHOP_NAME = SHOP_NAME
OSCAR_SHOP_TAGLINE = "毎日着たくなる、やさしい服"
OSCAR_DEFAULT_CURRENCY = "JPY"
OSCAR_ALLOW_ANON_CHECKOUT = True
# The welcome series (a step-mail sequence) greets new members; Oscar's own one-line
# registration mail would arrive next to its first mail.
OSCAR_SEND_REGISTRATION_EMAIL = False
OSCAR_FROM_EMAIL = "shop@komorebi.example.jp"
WAGTAIL_SITE_NAME = SHOP_NAME
#: Where the shop runs: links in mails (unsubscribe, buttons) and in admin notifications point here.
BASE_URL = os.environ.get("EXAMPLE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
WAGTAILADMIN_BASE_URL = BASE_URL
# Wagtail shows avatars from gravatar.com; the demo runs offline, so use its built-in placeholder.
WAGTAIL_GRAVATAR_PROVIDER_URL = None

# --- Mail: printed on the console and kept as .eml files in example_project/outbox/ ---------------
EMAIL_BACKEND = "example.mail.ConsoleAndOutboxBackend"
EMAIL_OUTBOX_DIR = Path(os.environ.get("EMAIL_OUTBOX_DIR") or BASE_DIR / "outbox")
DEFAULT_FROM_EMAIL = f"{SHOP_NAME} <shop@komorebi.example.jp>"
SERVER_EMAIL = "server@komorebi.example.jp"

STEPMAIL = {
    # Links in mails (unsubscribe, buttons) point at the local runserver.
    "BASE_URL": BASE_URL,
    # 特定電子メール法: every marketing mail names the sender, a postal address and a contact.
    "BRAND": {
        "sender_name": "株式会社こもれび(こもれび洋品店)",
        "postal_address": "〒150-0001 東京都渋谷区神宮前1-2-3 こもれびビル4階",
        "contact": "support@komorebi.example.jp / 03-0000-0000(平日10時〜18時)",
    },
}

# anymail's tracking webhooks (/anymail/<esp>/tracking/) check this "user:password" (basic auth).
ANYMAIL = {"WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", "example:change-me")}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"short": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "short"}},
    "loggers": {
        "stepmail_plugin": {"handlers": ["console"], "level": "INFO"},
    },
}
