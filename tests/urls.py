from django.apps import apps
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls

urlpatterns = [
    path("cms/", include(wagtailadmin_urls)),
    path("i18n/", include("django.conf.urls.i18n")),  # Oscar's templates link to set_language
    path("stepmail/", include("stepmail_plugin.urls")),
    path("anymail/", include("stepmail_plugin.tracking.webhook_urls")),
    path("shop/", include(apps.get_app_config("oscar").urls[0])),
    path("", include(wagtail_urls)),
]
