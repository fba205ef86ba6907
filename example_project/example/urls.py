"""URLs of the example shop: Wagtail admin, Django admin, step mail, Oscar, then Wagtail pages."""

from django.apps import apps
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

urlpatterns = [
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("django-admin/", admin.site.urls),
    # Oscar's header has a language switcher that posts to Django's set_language view.
    path("i18n/", include("django.conf.urls.i18n")),
    path("stepmail/", include("stepmail_plugin.urls")),
    # ESP tracking webhooks (opens, clicks, bounces…): anymail's views behind ANYMAIL["WEBHOOK_SECRET"].
    path("anymail/", include("stepmail_plugin.tracking.webhook_urls")),
    path("shop/", include(apps.get_app_config("oscar").urls[0])),
]
# Uploaded images (Wagtail, Oscar) in development; static files are served by runserver itself.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
# Last: Wagtail serves every other path from its page tree.
urlpatterns += [path("", include(wagtail_urls))]
