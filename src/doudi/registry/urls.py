from django.urls import path

from doudi.registry import views

app_name = "registry"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("persons/<int:person_id>/", views.person_detail, name="person"),
    path("persons/<int:person_id>/reveal/", views.person_reveal, name="person_reveal"),
    path("persons/<int:person_id>/status/", views.person_status, name="person_status"),
    path("households/new/", views.household_new, name="household_new"),
    path("households/<int:household_id>/", views.household_detail, name="household"),
]
