"""Staff views of what the application records: media, transcripts,
revisions, webhooks and their deliveries, project exports. Read-only except
pausing a webhook (through its service); reading a transcript or fetching
media is recorded like any other data access. Every list selects its
related rows up front."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from portal.actor import Actor, Via
from portal.admin_support import ServiceModelAdmin
from transcription.admin.common import ReadOnlyAdmin, url_or_none, username
from transcription.models import MediaFile, ProjectExport, Revision, Transcript, Webhook, WebhookDelivery
from transcription.services.filenames import content_disposition
from transcription.services.media import media_accessed, media_content_type, media_filename, media_presigned_url
from transcription.services.review import transcript_viewed
from transcription.services.webhooks import webhook_set_active
from transcription.text import clock


@admin.register(MediaFile)
class MediaFileAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "team", "project", "uploader", "size_display", "duration_display",
                    "container", "codec", "has_video", "created_at"]
    list_filter = [("project__team", admin.RelatedOnlyFieldListFilter), "has_video", "container", "created_at"]
    list_select_related = ["project__team", "uploaded_by"]
    search_fields = ["original_name", "=id", "uploaded_by__username"]
    date_hierarchy = "created_at"
    readonly_fields = ["download"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project__team", "uploaded_by")

    def get_urls(self):
        return [
            path("<path:object_id>/download/", self.admin_site.admin_view(require_safe(self.download_view)),
                 name="transcription_mediafile_download"),
        ] + super().get_urls()

    def download_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Staff fetch the stored file (they are not team members, so the
        app's media page is closed to them); recorded in the team's log."""
        media = self.get_object(request, object_id)
        if media is None:
            raise Http404
        if not self.has_view_permission(request, media):
            raise PermissionDenied
        disposition = content_disposition(media_filename(media), attachment=True)
        presigned = media_presigned_url(media=media, disposition=disposition)
        if presigned is not None:
            self._audit(request, media)
            return HttpResponseRedirect(presigned)
        try:
            handle = media.file.storage.open(media.file.name, "rb")
        except OSError:
            return HttpResponse(_("The media file is missing from storage."), status=410,
                                content_type="text/plain; charset=utf-8")
        self._audit(request, media)
        response = FileResponse(handle, content_type=media_content_type(media))
        response["Content-Disposition"] = disposition
        response["Cache-Control"] = "private, no-store"
        return response

    def _audit(self, request: HttpRequest, media: MediaFile) -> None:
        if request.method == "GET":
            media_accessed(actor=Actor.from_request(request, via=Via.ADMIN), media=media, download=True)

    @admin.display(description=_("team"), ordering="project__team__name")
    def team(self, media: MediaFile) -> str:
        return media.project.team.name

    @admin.display(description=_("uploaded by"), ordering="uploaded_by__username")
    def uploader(self, media: MediaFile) -> str:
        return username(media.uploaded_by)

    @admin.display(description=_("size"), ordering="size")
    def size_display(self, media: MediaFile) -> str:
        return filesizeformat(media.size)

    @admin.display(description=_("duration"), ordering="duration")
    def duration_display(self, media: MediaFile) -> str:
        return clock(media.duration)

    @admin.display(description=_("download"))
    def download(self, media: MediaFile) -> str:
        url = reverse("admin:transcription_mediafile_download", args=[media.pk])
        return format_html('<a href="{}">{}</a> ({})', url, media.original_name, filesizeformat(media.size))


@admin.register(Transcript)
class TranscriptAdmin(ReadOnlyAdmin):
    class Media:
        css = {"all": ["css/admin-text.css"]}  # the CSP allows no inline style

    list_display = ["file", "team", "project", "review_status", "language", "audio_length", "approved_by",
                    "created_at", "updated_at"]
    list_filter = ["review_status", ("job__project__team", admin.RelatedOnlyFieldListFilter), "language",
                   "created_at"]
    list_select_related = ["job__media", "job__project__team", "approved_by"]
    search_fields = ["job__media__original_name", "=id", "=job__id"]
    date_hierarchy = "created_at"
    exclude = ["text"]
    readonly_fields = ["open_page", "job_link", "text_preview"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("job__media", "job__project__team", "approved_by")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        transcript = getattr(response, "context_data", {}).get("original")
        if request.method == "GET" and response.status_code == 200 and transcript is not None:
            # Staff reading a transcript is a data access like any other.
            transcript_viewed(actor=Actor.from_request(request, via=Via.ADMIN), transcript=transcript)
        return response

    @admin.display(description=_("file"), ordering="job__media__original_name")
    def file(self, t: Transcript) -> str:
        return t.job.media.original_name

    @admin.display(description=_("team"), ordering="job__project__team__name")
    def team(self, t: Transcript) -> str:
        return t.job.project.team.name

    @admin.display(description=_("project"), ordering="job__project__name")
    def project(self, t: Transcript) -> str:
        return t.job.project.name

    @admin.display(description=_("audio"), ordering="audio_seconds")
    def audio_length(self, t: Transcript) -> str:
        return clock(t.audio_seconds)

    @admin.display(description=_("transcript page"))
    def open_page(self, t: Transcript) -> str:
        url = url_or_none("transcript", t.pk)
        return format_html('<a href="{}">{}</a> ({})', url, _("open in the app"),
                           _("team members only")) if url else "—"

    @admin.display(description=_("job"))
    def job_link(self, t: Transcript) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:transcription_job_change", args=[t.job_id]),
                           t.job.media.original_name)

    @admin.display(description=_("text"))
    def text_preview(self, t: Transcript) -> str:
        text = t.text if len(t.text) <= 5000 else t.text[:5000] + "…"
        return format_html('<div class="admin-long-text">{}</div>', text)


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "file", "segment_index", "author_name", "before_short", "after_short", "restored"]
    list_select_related = ["transcript__job__media", "segment", "author"]
    list_filter = ["created_at"]
    search_fields = ["transcript__job__media__original_name", "author__username", "before", "after"]
    date_hierarchy = "created_at"

    @admin.display(description=_("file"), ordering="transcript__job__media__original_name")
    def file(self, r: Revision) -> str:
        return r.transcript.job.media.original_name

    @admin.display(description=_("segment"), ordering="segment__index")
    def segment_index(self, r: Revision) -> int:
        return r.segment.index

    @admin.display(description=_("author"), ordering="author__username")
    def author_name(self, r: Revision) -> str:
        return username(r.author)

    @admin.display(description=_("before"))
    def before_short(self, r: Revision) -> str:
        return r.before[:80]

    @admin.display(description=_("after"))
    def after_short(self, r: Revision) -> str:
        return r.after[:80]

    @admin.display(description=_("restore"), boolean=True)
    def restored(self, r: Revision) -> bool:
        return r.restored_from_id is not None


# --- webhooks, exports ------------------------------------------------------------

@admin.register(Webhook)
class WebhookAdmin(ServiceModelAdmin):
    list_display = ["url", "project", "team", "active", "creator", "created_at"]
    list_filter = ["active", ("project__team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["project__team", "created_by"]
    list_editable = ["active"]
    search_fields = ["url", "project__name"]
    # The signing secret is never shown; staff may only pause a webhook.
    fields = ["url", "project", "active", "created_by", "created_at"]
    readonly_fields = ["url", "project", "created_by", "created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # project owners add webhooks, with a generated secret

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # project owners remove them on the project's webhooks page

    def save_model(self, request, obj, form, change):
        webhook_set_active(actor=self.actor(request), webhook=Webhook.objects.select_related("project__team").get(
            pk=obj.pk), active=obj.active)

    @admin.display(description=_("team"), ordering="project__team__name")
    def team(self, w: Webhook) -> str:
        return w.project.team.name

    @admin.display(description=_("created by"), ordering="created_by__username")
    def creator(self, w: Webhook) -> str:
        return username(w.created_by)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event", "webhook_url", "project", "job_file", "attempt", "status_code",
                    "succeeded", "last_attempt_at", "next_attempt_at"]
    list_filter = ["succeeded", "event", "created_at"]
    list_select_related = ["webhook__project", "job__media"]
    search_fields = ["webhook__url", "=job__id", "error"]
    date_hierarchy = "created_at"

    @admin.display(description=_("webhook"), ordering="webhook__url")
    def webhook_url(self, d: WebhookDelivery) -> str:
        return d.webhook.url

    @admin.display(description=_("project"), ordering="webhook__project__name")
    def project(self, d: WebhookDelivery) -> str:
        return d.webhook.project.name

    @admin.display(description=_("job"))
    def job_file(self, d: WebhookDelivery) -> str:
        return d.job.media.original_name if d.job else "—"


@admin.register(ProjectExport)
class ProjectExportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "project", "team", "requester", "format", "status", "finished_at"]
    list_filter = ["status", "format", ("project__team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["project__team", "requested_by"]
    search_fields = ["project__name", "=id"]
    date_hierarchy = "created_at"

    @admin.display(description=_("team"), ordering="project__team__name")
    def team(self, e: ProjectExport) -> str:
        return e.project.team.name

    @admin.display(description=_("requested by"), ordering="requested_by__username")
    def requester(self, e: ProjectExport) -> str:
        return username(e.requested_by)
