from django.urls import path

from doudi.benefits import views

app_name = "benefits"
urlpatterns = [
    path("", views.benefit_list, name="list"),
    path("rolls/", views.rolls, name="rolls"),
    path("rolls/build/", views.roll_build, name="roll_build"),
    path("rolls/<int:roll_id>/", views.roll_detail, name="roll"),
    path("rolls/<int:roll_id>/approve/", views.roll_approve, name="roll_approve"),
    path("rolls/<int:roll_id>/export.xlsx", views.roll_export, name="roll_export"),
    path("households/<int:household_id>/panel/", views.household_panel, name="household_panel"),
]
