from django.urls import path

from transcription.views import projects

# Each page family adds its routes here.
urlpatterns = [
    path("projects/<str:project_id>/", projects.project_detail, name="project"),
]
