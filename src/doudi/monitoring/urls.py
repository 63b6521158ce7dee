from django.urls import path

from doudi.monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("alerts/<int:alert_id>/", views.detail, name="alert"),
    path("alerts/<int:alert_id>/assign/", views.assign, name="assign"),
    path("alerts/<int:alert_id>/visit/", views.visit, name="visit"),
    path("alerts/<int:alert_id>/close/", views.close, name="close"),
    path("field/", views.field, name="field"),
    path("overview/", views.overview, name="overview"),
    path("proactive/", views.proactive, name="proactive"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/<str:code>/", views.rule_detail, name="rule"),
    path("rules/<str:code>/propose/", views.rule_propose, name="rule_propose"),
    path("runs/", views.runs, name="runs"),
    path("runs/start/", views.run_start, name="run_start"),
    path("runs/<int:run_id>/progress/", views.run_progress, name="run_progress"),
]
