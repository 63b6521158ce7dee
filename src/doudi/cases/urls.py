from django.urls import path

from doudi.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("new/", views.intake, name="intake"),
    path("applications/<int:application_id>/", views.application_detail, name="application"),
    path("documents/<int:document_id>/", views.document_action, name="document_action"),
    path("documents/<int:document_id>/file/", views.document_file, name="document_file"),
    path("photos/<int:photo_id>/", views.photo_file, name="photo"),
    path("<int:case_id>/", views.case_detail, name="case"),
    path("<int:case_id>/act/", views.case_act, name="act"),
    path("<int:case_id>/letter.pdf", views.refusal_letter, name="letter"),
    path("<int:case_id>/approval.pdf", views.approval_form, name="approval"),
    path("notices/", views.notices, name="notices"),
    path("notices.pdf", views.notices_pdf, name="notices_pdf"),
    path("reviews/", views.reviews, name="reviews"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("items/", views.items_catalog, name="items"),
]
