from django.urls import path

from doudi.datapool import views

app_name = "datapool"
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("interfaces/<slug:code>/", views.interface_detail, name="interface"),
    path("upload/", views.upload, name="upload"),
    path("files/<int:ingest_id>/", views.ingest_detail, name="ingest"),
    path("files/<int:ingest_id>/quarantine.xlsx", views.quarantine_download, name="quarantine"),
    path("review/", views.review_queue, name="review"),
    path("review/<int:review_id>/", views.review_decide, name="review_decide"),
    path("returned/", views.returned, name="returned"),
    path("share/", views.share, name="share"),
]
