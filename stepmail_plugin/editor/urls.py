"""Admin URLs of the editor's views (included under the Wagtail admin by ``wagtail_hooks.py``)."""

from django.urls import path

from . import views

app_name = "stepmail_editor"

urlpatterns = [
    path("steps/<int:step_id>/preview/", views.StepPreviewView.as_view(), name="preview_step"),
    path("steps/<int:step_id>/test-send/", views.TestSendView.as_view(), name="test_send_step"),
    path("sequences/<int:sequence_id>/test-send/", views.TestSendView.as_view(), name="test_send_sequence"),
    path("sequences/<int:sequence_id>/copy/", views.CopySequenceView.as_view(), name="copy_sequence"),
    path("templates/", views.BlueprintsView.as_view(), name="blueprints"),
]
