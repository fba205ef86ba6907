"""anymail's webhook URLs (same paths and names, namespace ``anymail``) with malformed bodies
answered 400. Use instead of ``include("anymail.urls")``::

    path("anymail/", include("stepmail_plugin.tracking.webhook_urls")),
"""

from anymail import urls as anymail_urls

from .webhooks import wrap_patterns

app_name = "anymail"
urlpatterns = wrap_patterns(anymail_urls.urlpatterns)
