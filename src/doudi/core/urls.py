from django.urls import path

from doudi.core import views

app_name = "core"
urlpatterns = [
    path("audit/", views.audit_log, name="audit"),
    path("users/", views.users, name="users"),
    path("workdays/", views.workday_calendar, name="workdays"),
]
