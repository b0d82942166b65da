from django.urls import path

from transcription.views import exports as export_views
from transcription.views import glossary as glossary_views
from transcription.views import insights as insight_views
from transcription.views import media as media_views
from transcription.views import ops as ops_views
from transcription.views import projects
from transcription.views import queue as queue_views
from transcription.views import search as search_views
from transcription.views import transcripts as transcript_views
from transcription.views import webhooks as webhook_views

# Each page family adds its routes here.
urlpatterns = [
    # transcript workspace (helper-W)
    path("transcripts/<str:transcript_id>/", transcript_views.transcript_detail, name="transcript"),
    path("transcripts/<str:transcript_id>/segments/<int:index>/", transcript_views.segment_detail,
         name="transcript_segment"),
    path("transcripts/<str:transcript_id>/segments/<int:index>/edit/", transcript_views.segment_edit_form,
         name="transcript_segment_edit"),
    path("transcripts/<str:transcript_id>/segments/<int:index>/revisions/", transcript_views.segment_revisions,
         name="transcript_segment_revisions"),
    path("transcripts/<str:transcript_id>/revisions/<int:revision_id>/restore/", transcript_views.revision_restore,
         name="transcript_revision_restore"),
    path("transcripts/<str:transcript_id>/speakers/", transcript_views.speakers_rename, name="transcript_speakers"),
    path("transcripts/<str:transcript_id>/speakers/recluster/", transcript_views.speakers_recluster,
         name="transcript_speakers_recluster"),
    path("transcripts/<str:transcript_id>/speakers/card/", transcript_views.speakers_card,
         name="transcript_speakers_card"),
    path("transcripts/<str:transcript_id>/review/", transcript_views.review_status, name="transcript_review"),
    path("transcripts/<str:transcript_id>/insights/", insight_views.insights_card, name="transcript_insights"),
    path("transcripts/<str:transcript_id>/chapters.vtt", insight_views.chapters_track, name="transcript_chapters"),
    path("transcripts/<str:transcript_id>/insights/new/", insight_views.insight_create, name="transcript_insight_new"),
    path("transcripts/<str:transcript_id>/questions/new/", insight_views.question_create,
         name="transcript_question_new"),
    path("transcripts/<str:transcript_id>/insights/<str:model>/<int:pk>/<str:command>/",
         insight_views.llm_request_command, name="transcript_insight_command"),
    path("transcripts/<str:transcript_id>/insight-templates/new/", insight_views.template_create,
         name="transcript_insight_template_new"),
    path("transcripts/<str:transcript_id>/insight-templates/<int:pk>/", insight_views.template_update,
         name="transcript_insight_template"),
    path("transcripts/<str:transcript_id>/insight-templates/<int:pk>/delete/", insight_views.template_delete,
         name="transcript_insight_template_delete"),
    path("transcripts/<str:transcript_id>/export/", export_views.transcript_download, name="transcript_export"),
    path("transcripts/<str:transcript_id>/replace/", glossary_views.transcript_replace, name="transcript_replace"),
    path("projects/<str:project_id>/accuracy/", projects.project_accuracy_card, name="project_accuracy"),
    path("teams/<str:team_id>/accuracy/", projects.team_accuracy_card, name="team_accuracy"),
    path("projects/<str:project_id>/glossary/", glossary_views.project_glossary, name="project_glossary"),
    path("projects/<str:project_id>/hotwords/add/", glossary_views.project_hotwords_add_view,
         name="project_hotwords_add"),
    path("media/<str:media_id>/", media_views.media_file, name="media_file"),
    path("search/", search_views.search, name="search"),
    path("projects/<str:project_id>/exports/", export_views.project_exports, name="project_exports"),
    path("exports/<str:export_id>/download/", export_views.project_export_download, name="project_export_download"),
    path("projects/<str:project_id>/", projects.project_detail, name="project"),
    # uploads, jobs and the queue (helper-Q)
    path("projects/<str:project_id>/jobs/", projects.project_jobs, name="project_jobs"),
    path("projects/<str:project_id>/upload/", projects.project_upload, name="project_upload"),
    path("projects/<str:project_id>/rejections/clear/", projects.project_rejections_clear,
         name="project_rejections_clear"),
    path("projects/<str:project_id>/retry-failed/", projects.project_retry_failed, name="project_retry_failed"),
    path("projects/<str:project_id>/webhooks/", webhook_views.project_webhooks, name="project_webhooks"),
    path("projects/<str:project_id>/webhooks/add/", webhook_views.webhook_add, name="webhook_add"),
    path("projects/<str:project_id>/webhooks/<int:webhook_id>/delete/", webhook_views.webhook_remove,
         name="webhook_delete"),
    path("projects/<str:project_id>/webhooks/<int:webhook_id>/test/", webhook_views.webhook_test,
         name="webhook_test"),
    path("queue/", queue_views.my_queue, name="queue"),
    path("jobs/<str:job_id>/", queue_views.job_detail, name="job"),
    path("jobs/<str:job_id>/cancel/", queue_views.job_cancel_view, name="job_cancel"),
    path("jobs/<str:job_id>/retry/", queue_views.job_retry_view, name="job_retry"),
    path("ops/", ops_views.ops, name="ops"),
    path("ops/panel/", ops_views.ops_panel, name="ops_panel"),
    path("ops/requeue-not-set-up/", ops_views.ops_requeue_not_set_up, name="ops_requeue_not_set_up"),
]
