from django.urls import path

from transcription import views

urlpatterns = [
    path("projects/<str:project_id>/", views.project_detail, name="project"),
]
