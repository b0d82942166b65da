"""/api/: version 1 of the HTTP API (DESIGN §7), its OpenAPI schema and docs."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from api.exceptions import not_found
from api.views import auth, insights, jobs, projects, review, teams, transcripts
from api.views.docs import ApiDocsView

app_name = "api"

v1 = [
    path("auth/token/", auth.TokenCreateView.as_view(), name="token"),
    path("teams/", teams.TeamListView.as_view(), name="teams"),
    path("teams/<uuid:team_id>/members/", teams.MemberAddView.as_view(), name="team_members"),
    path("projects/", projects.ProjectListView.as_view(), name="projects"),
    path("projects/<uuid:project_id>/", projects.ProjectDetailView.as_view(), name="project"),
    path("projects/<uuid:project_id>/accuracy/", projects.ProjectAccuracyView.as_view(), name="project_accuracy"),
    path("projects/<uuid:project_id>/uploads/", projects.ProjectUploadView.as_view(), name="project_uploads"),
    path("jobs/", jobs.JobListView.as_view(), name="jobs"),
    path("jobs/<uuid:job_id>/", jobs.JobDetailView.as_view(), name="job"),
    path("jobs/<uuid:job_id>/cancel/", jobs.JobCancelView.as_view(), name="job_cancel"),
    path("jobs/<uuid:job_id>/retry/", jobs.JobRetryView.as_view(), name="job_retry"),
    path("transcripts/<uuid:transcript_id>/", transcripts.TranscriptDetailView.as_view(), name="transcript"),
    path("transcripts/<uuid:transcript_id>/segments/<int:index>/", transcripts.SegmentEditView.as_view(),
         name="segment"),
    path("transcripts/<uuid:transcript_id>/export/", transcripts.TranscriptExportView.as_view(),
         name="transcript_export"),
    path("transcripts/<uuid:transcript_id>/review/", review.ReviewView.as_view(), name="transcript_review"),
    path("transcripts/<uuid:transcript_id>/insights/", insights.InsightListView.as_view(), name="transcript_insights"),
    path("transcripts/<uuid:transcript_id>/questions/", insights.QuestionCreateView.as_view(),
         name="transcript_questions"),
    path("questions/<int:question_id>/", insights.QuestionDetailView.as_view(), name="question"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="api:schema"), name="docs"),
    # Unknown paths answer JSON too; a missing trailing slash is redirected by APPEND_SLASH first.
    re_path(r"^.*/$", not_found),
]
