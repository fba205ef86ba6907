from django.urls import path

from . import views

app_name = "stepmail_reports"

urlpatterns = [
    path("", views.SequencesReportView.as_view(), name="index"),
    path("results/", views.SequencesReportView.as_view(results_only=True), name="index_results"),
    path("sequence/<int:pk>/", views.SequenceReportView.as_view(), name="sequence"),
    path("sequence/<int:pk>/results/", views.SequenceReportView.as_view(results_only=True), name="sequence_results"),
    path("step/<int:step_id>/promote/", views.promote_winner, name="ab_promote"),
    path("step/<int:step_id>/restart/", views.restart_test, name="ab_restart"),
]
