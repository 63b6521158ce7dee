from django.urls import path

from doudi.policy import views, views_verification

app_name = "policy"
urlpatterns = [
    path("households/<int:household_id>/", views.household_explain, name="household"),
    path("households/<int:household_id>/panel/", views.household_panel, name="household_panel"),
    path("parameters/", views.parameters, name="parameters"),
    path("parameters/<str:name>/", views.parameter_detail, name="parameter"),
    path("changes/<int:change_id>/decide/", views.parameter_decide, name="parameter_decide"),
    path("sweeps/", views.sweeps, name="sweeps"),
    path("sweeps/start/", views.sweep_start, name="sweep_start"),
    path("sweeps/<int:run_id>/progress/", views.sweep_progress, name="sweep_progress"),
    path("whatif/", views.whatif, name="whatif"),
    path("households/<int:household_id>/verify/", views_verification.verify, name="verify"),
    path(
        "authorisations/<int:authorisation_id>/scan/",
        views_verification.authorisation_scan,
        name="authorisation_scan",
    ),
    path(
        "verifications/<int:verification_id>/",
        views_verification.verification_report,
        name="verification",
    ),
    path(
        "verifications/<int:verification_id>/pdf/",
        views_verification.verification_pdf,
        name="verification_pdf",
    ),
]
