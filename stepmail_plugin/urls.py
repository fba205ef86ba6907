from django.urls import path

from . import views, webversion
from .tracking import views as tracking_views

app_name = "stepmail"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("c/<str:token>/<int:index>/", tracking_views.click, name="click"),
    path("o/<str:token>/", tracking_views.open_pixel, name="open"),
    path("mail/<str:token>/", webversion.web_version, name="web_version"),
]
