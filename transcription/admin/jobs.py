"""Staff review of jobs. Jobs are steered only through the job services
(retry, cancel, priority, review), never by editing status fields; the list
selects its related rows up front and every bulk action is a fixed number of
queries however many rows are selected. What may be done to a job is asked
of job_states, as everywhere else."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.db.models.functions import NullIf
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.admin_support import ServiceModelAdmin
from portal.errors import DomainError
from transcription.admin.common import url_or_none, username
from transcription.models import Job, JobAttempt, Transcript
from transcription.services import job_actions
from transcription.text import clock


class HasErrorFilter(admin.SimpleListFilter):
    title = _("error")
    parameter_name = "has_error"

    def lookups(self, request, model_admin):
        return [("yes", _("With an error")), ("no", _("Without an error"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(error="")
        if self.value() == "no":
            return queryset.filter(error="")
        return queryset


class WorkerFilter(admin.SimpleListFilter):
    title = _("worker")
    parameter_name = "worker_name"

    def lookups(self, request, model_admin):
        names = (Job.objects.exclude(worker="").order_by("worker")
                 .values_list("worker", flat=True).distinct()[:100])
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(worker=self.value()) if self.value() else queryset


class ReviewedFilter(admin.SimpleListFilter):
    title = _("checked by staff")
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("yes", _("Checked")), ("no", _("Not checked"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(reviewed_at__isnull=self.value() == "no")
        return queryset


class JobAttemptInline(admin.TabularInline):
    model = JobAttempt
    extra = 0
    can_delete = False
    fields = ["number", "worker", "started_at", "ended_at", "outcome", "error"]
    readonly_fields = fields
    ordering = ["number"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(ServiceModelAdmin):
    class Media:
        css = {"all": ["css/admin-text.css"]}  # the CSP allows no inline style

    list_display = ["file", "status", "user", "team", "project_name", "audio_length", "attempts_display",
                    "priority", "worker", "queued_at", "started_at", "finished_at", "rtf_display", "reviewed"]
    list_display_links = ["file"]
    list_filter = ["status", ("project__team", admin.RelatedOnlyFieldListFilter), "finished_at",
                   WorkerFilter, HasErrorFilter, ReviewedFilter]
    list_select_related = ["media", "created_by", "project__team"]
    search_fields = ["media__original_name", "created_by__username", "id"]
    date_hierarchy = "created_at"
    list_per_page = 100
    actions = ["retry_jobs", "cancel_jobs", "raise_priority", "lower_priority", "mark_reviewed"]
    inlines = [JobAttemptInline]
    change_form_template = "admin/transcription/job/change_form.html"
    fieldsets = [
        (None, {"fields": ["file_link", "transcript_link", "project_link", "team", "created_by_name",
                           "status", "stage", "progress", "cancel_requested", "priority", "max_attempts",
                           "attempts"]}),
        (_("Error"), {"fields": ["error", "traceback_display"]}),
        (_("Timings"), {"fields": ["created_at", "queued_at", "started_at", "heartbeat_at", "finished_at",
                                   "wait_time", "run_time", "audio_length", "processing_time", "rtf_display",
                                   "worker"]}),
        (_("Engine"), {"fields": ["engine", "models_used", "options"], "classes": ["collapse"]}),
        (_("Checked by staff"), {"fields": ["reviewed_at", "reviewed_by_name"]}),
        (_("History"), {"fields": ["history_display"]}),
    ]
    readonly_fields = ["file_link", "transcript_link", "project_link", "team", "created_by_name", "status", "stage",
                       "progress", "cancel_requested", "attempts", "error", "traceback_display", "created_at",
                       "queued_at", "started_at", "heartbeat_at", "finished_at", "wait_time", "run_time",
                       "audio_length", "processing_time", "rtf_display", "worker", "engine", "models_used",
                       "options", "reviewed_at", "reviewed_by_name", "history_display"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("media", "created_by", "project__team", "reviewed_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs come from uploads

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a job goes with its project; staff cancel it instead

    def save_model(self, request, obj, form, change):
        changed = {name: getattr(obj, name) for name in ("priority", "max_attempts") if name in form.changed_data}
        job_actions.job_update_limits(actor=self.actor(request), job=Job.objects.get(pk=obj.pk), **changed)

    # list columns
    @admin.display(description=_("file"), ordering="media__original_name")
    def file(self, job: Job) -> str:
        return job.media.original_name

    @admin.display(description=_("user"), ordering="created_by__username")
    def user(self, job: Job) -> str:
        return username(job.created_by)

    @admin.display(description=_("team"), ordering="project__team__name")
    def team(self, job: Job) -> str:
        return job.project.team.name

    @admin.display(description=_("project"), ordering="project__name")
    def project_name(self, job: Job) -> str:
        return job.project.name

    @admin.display(description=_("audio"), ordering="media__duration")
    def audio_length(self, job: Job) -> str:
        return clock(job.audio_seconds if job.audio_seconds is not None else job.media.duration)

    @admin.display(description=_("attempts"), ordering="attempts")
    def attempts_display(self, job: Job) -> str:
        return f"{job.attempts}/{job.max_attempts}"

    @admin.display(description=_("RTF"), ordering=F("processing_seconds") / NullIf(F("audio_seconds"), 0.0))
    def rtf_display(self, job: Job) -> str:
        return f"{job.rtf:.3f}" if job.rtf is not None else "—"

    @admin.display(description=_("checked"), boolean=True, ordering="reviewed_at")
    def reviewed(self, job: Job) -> bool:
        return job.reviewed_at is not None

    # detail fields
    @admin.display(description=_("file"))
    def file_link(self, job: Job) -> str:
        media = job.media
        return format_html(
            '<a href="{}">{}</a> ({}, {}) · <a href="{}">{}</a>',
            reverse("admin:transcription_mediafile_change", args=[media.pk]), media.original_name,
            clock(media.duration), filesizeformat(media.size),
            reverse("admin:transcription_mediafile_download", args=[media.pk]), _("download"),
        )

    @admin.display(description=_("transcript"))
    def transcript_link(self, job: Job) -> str:
        transcript = Transcript.objects.filter(job=job).only("id", "review_status").first()
        if transcript is None:
            return "—"
        admin_url = reverse("admin:transcription_transcript_change", args=[transcript.pk])
        page_url = url_or_none("transcript", transcript.pk)
        label = transcript.get_review_status_display()
        if page_url:
            return format_html('<a href="{}">{}</a> ({}) · <a href="{}">{}</a>', admin_url, _("read transcript"),
                               label, page_url, _("open in the app"))
        return format_html('<a href="{}">{}</a> ({})', admin_url, _("read transcript"), label)

    @admin.display(description=_("project"))
    def project_link(self, job: Job) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:portal_project_change", args=[job.project_id]),
                           job.project.name)

    @admin.display(description=_("created by"))
    def created_by_name(self, job: Job) -> str:
        return username(job.created_by)

    @admin.display(description=_("checked by"))
    def reviewed_by_name(self, job: Job) -> str:
        return username(job.reviewed_by)

    @admin.display(description=_("traceback"))
    def traceback_display(self, job: Job) -> str:
        return format_html('<pre class="admin-long-text">{}</pre>', job.traceback) if job.traceback else "—"

    @admin.display(description=_("waited in queue"))
    def wait_time(self, job: Job) -> str:
        if job.queued_at and job.started_at:
            return clock((job.started_at - job.queued_at).total_seconds())
        return "—"

    @admin.display(description=_("ran for"))
    def run_time(self, job: Job) -> str:
        if job.started_at and job.finished_at:
            return clock((job.finished_at - job.started_at).total_seconds())
        return "—"

    @admin.display(description=_("processing time"))
    def processing_time(self, job: Job) -> str:
        return clock(job.processing_seconds)

    @admin.display(description=_("history"))
    def history_display(self, job: Job) -> str:
        events = list(job_actions.job_history(job=job))
        if not events:
            return "—"
        rows = format_html_join("", "<li>{} · {} · {}</li>", (
            (date_format(timezone.localtime(e.created_at), "SHORT_DATETIME_FORMAT"), e.actor_name or "—",
             e.get_action_display()) for e in events))
        return format_html("<ul>{}</ul>", rows)

    # bulk actions: each is a fixed number of queries however many rows
    @admin.action(description=_("Retry selected failed or cancelled jobs"), permissions=["change"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        selected = queryset.count()
        n = job_actions.jobs_retry(actor=self.actor(request), queryset=queryset)
        self._report(request, n, selected - n,
                     ngettext("Requeued %(n)d job.", "Requeued %(n)d jobs.", n) % {"n": n},
                     _("%(skipped)d skipped: only failed or cancelled jobs can be retried."))

    @admin.action(description=_("Cancel selected queued or running jobs"), permissions=["change"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        selected = queryset.count()
        result = job_actions.jobs_cancel(actor=self.actor(request), queryset=queryset)
        text = ngettext("Cancelled %(n)d queued job.", "Cancelled %(n)d queued jobs.", result.cancelled) % {
            "n": result.cancelled}
        if result.stopping:
            text += " " + ngettext("%(n)d running job will stop at its next segment.",
                                   "%(n)d running jobs will stop at their next segment.", result.stopping) % {
                "n": result.stopping}
        self._report(request, result.total, selected - result.total, text,
                     _("%(skipped)d skipped: they had already finished."))

    @admin.action(description=_("Raise priority of selected queued jobs"), permissions=["change"])
    def raise_priority(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._priority(request, queryset, +1)

    @admin.action(description=_("Lower priority of selected queued jobs"), permissions=["change"])
    def lower_priority(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._priority(request, queryset, -1)

    def _priority(self, request: HttpRequest, queryset: QuerySet[Job], delta: int) -> None:
        selected = queryset.count()
        n = job_actions.jobs_set_priority(actor=self.actor(request), queryset=queryset, delta=delta)
        if delta > 0:
            done = ngettext("Raised the priority of %(n)d queued job.", "Raised the priority of %(n)d queued jobs.", n)
        else:
            done = ngettext("Lowered the priority of %(n)d queued job.",
                            "Lowered the priority of %(n)d queued jobs.", n)
        self._report(request, n, selected - n, done % {"n": n},
                     _("%(skipped)d skipped: only queued jobs wait in priority order."))

    # Staff noting they looked at a finished job (a failure, say): not the transcript's review workflow.
    @admin.action(description=_("Mark selected finished jobs as checked by staff"), permissions=["change"])
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        selected = queryset.count()
        n = job_actions.jobs_mark_reviewed(actor=self.actor(request), queryset=queryset)
        self._report(request, n, selected - n,
                     ngettext("Marked %(n)d job as checked.", "Marked %(n)d jobs as checked.", n) % {"n": n},
                     _("%(skipped)d skipped: already checked or not finished yet."))

    def _report(self, request: HttpRequest, n: int, skipped: int, text: str, skipped_msg: str) -> None:
        if skipped:
            text += " " + skipped_msg % {"skipped": skipped}
        self.message_user(request, text, messages.SUCCESS if n else messages.WARNING)

    # one-job buttons on the detail page
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/retry/", wrap(self.retry_view), name="transcription_job_retry"),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="transcription_job_cancel"),
        ] + super().get_urls()

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        return self._job_command(request, object_id, job_actions.job_retry, _("The job is queued again."))

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        return self._job_command(request, object_id, job_actions.job_cancel, _("The job is cancelled."))

    def _job_command(self, request: HttpRequest, object_id: str, command, done: str) -> HttpResponseRedirect:
        if request.method != "POST":
            raise PermissionDenied
        job = self.get_object(request, object_id)
        if job is None:
            raise Http404
        if not self.has_change_permission(request, job):
            raise PermissionDenied
        try:
            command(actor=self.actor(request), job=job)
        except DomainError as e:
            self.message_user(request, e.message, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:transcription_job_change", args=[job.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["job_can_retry"] = obj.can_retry
            context["job_can_cancel"] = obj.can_cancel
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)
