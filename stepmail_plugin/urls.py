from django.urls import path

from . import views, webversion

app_name = "stepmail"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("mail/<str:token>/", webversion.web_version, name="web_version"),
]
