"""The work side: media, jobs (the queue of record), transcripts and their
edit history, webhooks, and project exports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal.models import Project
from transcription import job_states, llm_states, review_states
from transcription.job_states import JobStatus
from transcription.llm_states import LlmStatus
from transcription.review_states import ReviewStatus


def media_upload_to(instance: MediaFile, filename: str) -> str:
    # The stored name is generated; the user's filename is display text only.
    return f"media/{instance.project_id}/{uuid.uuid4().hex}"


class MediaFile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, models.CASCADE, related_name="media")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file = models.FileField(upload_to=media_upload_to, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.BigIntegerField(default=0)
    duration = models.FloatField(_("duration (s)"), default=0)
    codec = models.CharField(max_length=32, blank=True)
    container = models.CharField(max_length=64, blank=True)
    has_video = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name


class UploadRejection(models.Model):
    """A file an upload did not add, and why: kept so the project page can
    still show the reasons after the person has left the page."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="upload_rejections")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filename = models.CharField(max_length=255)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename}: {self.reason}"


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, models.CASCADE, related_name="jobs")
    media = models.ForeignKey(MediaFile, models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    # Higher runs first (before fair share). An urgent upload starts at job_states.URGENT_PRIORITY.
    priority = models.SmallIntegerField(default=0)
    urgent = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=job_states.default_max_attempts)
    progress = models.FloatField(default=0)  # 0..100
    stage = models.CharField(max_length=32, blank=True, choices=job_states.Stage.choices)
    error = models.TextField(blank=True)  # shown to the team
    traceback = models.TextField(blank=True)  # staff only
    # Failed because this deployment cannot load its models (job_states.is_not_set_up): the team sees a
    # plain message in `error`, staff the operator's details in `traceback`.
    not_set_up = models.BooleanField(default=False)
    cancel_requested = models.BooleanField(default=False)
    # A worker was lost while holding this job with others: until it ends, it runs in a batch of its own,
    # so a crash is charged to the job that caused it (job_states.attempt_ending).
    run_alone = models.BooleanField(default=False)
    worker = models.CharField(max_length=128, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    audio_seconds = models.FloatField(null=True, blank=True)
    processing_seconds = models.FloatField(null=True, blank=True)
    engine = models.CharField(max_length=64, blank=True)
    models_used = models.JSONField(default=dict, blank=True)
    # {"hotwords": [...], "diarization": bool}
    options = models.JSONField(default=dict, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-priority", "queued_at"], name="job_claim_order"),
            models.Index(fields=["created_by", "status"], name="job_user_status"),
            models.Index(fields=["status", "heartbeat_at"], name="job_heartbeat"),
            models.Index(fields=["finished_at"], name="job_finished"),
            models.Index(fields=["started_at"], name="job_started"),
            # A project's newest jobs and a person's newest finished ones, read in order (no sort of
            # every job of the project or person for one page of them).
            models.Index(fields=["project", "-created_at", "-id"], name="job_project_recent"),
            models.Index(fields=["created_by", "-finished_at", "-created_at"], name="job_user_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.media.original_name} ({self.status})"

    # What pages and the API ask of a job; the rules live in job_states.
    is_queued = property(job_states.is_queued)
    is_running = property(job_states.is_running)
    is_succeeded = property(job_states.is_succeeded)
    is_failed = property(job_states.is_failed)
    is_active = property(job_states.is_active)
    is_finished = property(job_states.is_finished)
    is_stopping = property(job_states.is_stopping)
    can_retry = property(job_states.can_retry)
    is_not_set_up = property(job_states.is_not_set_up)
    can_cancel = property(job_states.can_cancel)

    @property
    def stage_label(self) -> str:
        return job_states.stage_label(self.stage)

    @property
    def rtf(self) -> float | None:
        if self.audio_seconds and self.processing_seconds is not None:
            return self.processing_seconds / self.audio_seconds
        return None


class JobAttempt(models.Model):
    """One run of a job by a worker; retries and requeues keep the history."""

    job = models.ForeignKey(Job, models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    worker = models.CharField(max_length=128, blank=True)
    # The jobs a worker claimed together for one engine call share this id.
    batch = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, blank=True, choices=job_states.Outcome.choices)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="unique_job_attempt")
        ]

    @property
    def outcome_label(self) -> str:
        return job_states.outcome_label(self.outcome)


class Transcript(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # One-to-one: a job can never end with two transcripts.
    job = models.OneToOneField(Job, models.CASCADE, related_name="transcript")
    text = models.TextField(blank=True)
    language = models.CharField(max_length=16, blank=True)
    preset = models.CharField(max_length=64, blank=True)  # the ASR_PRESETS name it was made with
    review_status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT
    )
    # {"spk0": "Alice"}: display names for the engine's speaker labels.
    speaker_names = models.JSONField(default=dict, blank=True)
    audio_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # Who last submitted it for review (with "a second person approves", not its approver), and
    # whom they asked to review it.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Transcript of {self.job.media.original_name}"

    @property
    def is_approved(self) -> bool:
        """Approved transcripts are locked against edits until reopened."""
        return review_states.is_approved(self)

    def speaker_label(self, speaker: str) -> str:
        return self.speaker_names.get(speaker, speaker)


class Segment(models.Model):
    transcript = models.ForeignKey(Transcript, models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    start = models.FloatField()
    end = models.FloatField()
    text = models.TextField(blank=True)
    # The text with numbers as digits (inverse text normalisation), kept beside what the model
    # said; equal to ``text`` once a person edited the segment (``verbatim``).
    text_itn = models.TextField(blank=True)
    verbatim = models.BooleanField(default=False)
    speaker = models.CharField(max_length=32, blank=True)
    # [[text, start, end], ...] in seconds, per token (Chinese character or English word), from the
    # engine; emptied when a person edits the text.
    words = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["transcript", "index"]
        constraints = [
            models.UniqueConstraint(fields=["transcript", "index"], name="unique_segment_index")
        ]

    def __str__(self) -> str:
        return f"[{self.start:.2f}-{self.end:.2f}] {self.text[:40]}"


class SpeakerEmbeddings(models.Model):
    """What the speaker model computed during transcription, so speakers can be
    re-clustered without transcribing again: one vector per chunk of speech."""

    transcript = models.OneToOneField(Transcript, models.CASCADE, related_name="speaker_embeddings")
    chunks = models.JSONField(default=list)  # [[start, end], ...] seconds, one per vector
    dim = models.PositiveSmallIntegerField()
    vectors = models.BinaryField()  # float32, len(chunks) x dim, little-endian
    speakers = models.CharField(max_length=4, default="auto")  # the count the labels were clustered with
    # A re-clustering asked for and not yet done by a worker ("" when none is pending).
    requested = models.CharField(max_length=4, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{len(self.chunks)} speaker embeddings of {self.transcript_id}"


class Revision(models.Model):
    """One edit of a segment's text: who, when, before and after."""

    transcript = models.ForeignKey(Transcript, models.CASCADE, related_name="revisions")
    segment = models.ForeignKey(Segment, models.CASCADE, related_name="revisions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    # Set when this revision restored an earlier one.
    restored_from = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]


class Webhook(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(max_length=128)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    webhook = models.ForeignKey(Webhook, models.CASCADE, related_name="deliveries")
    job = models.ForeignKey(Job, models.SET_NULL, null=True, blank=True, related_name="+")
    event = models.CharField(max_length=32)
    payload = models.JSONField(default=dict)
    attempt = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while an outgoing worker is sending it (a lease: one killed midway frees it by then).
    sending_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_pending",
                condition=Q(succeeded=False),
            )
        ]


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Preparing")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class ProjectExport(models.Model):
    """A ZIP of every succeeded transcript of a project, built in the background."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    format = models.CharField(max_length=8)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    file = models.FileField(upload_to="exports/", max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set on the first download: until then the requester is reminded that it is ready.
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_ready(self) -> bool:
        return self.status == ExportStatus.READY and bool(self.file)

    @property
    def is_pending(self) -> bool:
        return self.status == ExportStatus.PENDING


class WorkerPresence(models.Model):
    """An ASR worker process's sign of life, busy or idle (services/worker_presence.py)."""

    name = models.CharField(max_length=200, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name

class InsightKind(models.TextChoices):
    SUMMARY = "summary", _("Summary")
    ACTION_ITEMS = "action_items", _("Action items")
    DECISIONS = "decisions", _("Decisions")
    CHAPTERS = "chapters", _("Chapters")
    WRITTEN = "written", _("Written version")
    TEMPLATE = "template", _("Template")


class InsightTemplate(models.Model):
    """A named prompt a project keeps ("QA checklist for support calls"), run like the built-in kinds."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="insight_templates")
    name = models.CharField(_("name"), max_length=80)
    prompt = models.TextField(_("prompt"), max_length=4000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="unique_insight_template_name")]

    def __str__(self) -> str:
        return self.name


class LlmRequest(models.Model):
    """What insights and questions share: one request to the language model about a transcript,
    run on the outgoing queue, with its cost."""

    transcript = models.ForeignKey(Transcript, models.CASCADE, related_name="+")
    language = models.CharField(max_length=16, blank=True)  # the output language asked for
    status = models.CharField(max_length=10, choices=LlmStatus.choices, default=LlmStatus.QUEUED)
    model = models.CharField(max_length=200, blank=True)
    parts = models.PositiveSmallIntegerField(default=0)  # sections the transcript was worked in
    parts_done = models.PositiveSmallIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    references = models.JSONField(default=list, blank=True)  # [{segment, start, end}]
    removed_references = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # A digest of the segments and speaker names it was made from: different now means "stale".
    source_hash = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set while an outgoing worker runs it (a lease: one killed midway frees it by then).
    running_until = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveSmallIntegerField(default=0)
    # The parts answered so far ({key, answers, removed, used}): a run taken over resumes there.
    partials = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def is_active(self) -> bool:
        return llm_states.is_active(self)

    @property
    def is_queued(self) -> bool:
        return llm_states.is_queued(self)

    @property
    def is_succeeded(self) -> bool:
        return llm_states.is_succeeded(self)

    @property
    def is_cancelled(self) -> bool:
        return llm_states.is_cancelled(self)

    @property
    def is_ended_badly(self) -> bool:
        return llm_states.is_ended_badly(self)


class Insight(LlmRequest):
    """A summary, action items, decisions, chapters, a written version or a template's result."""

    kind = models.CharField(max_length=16, choices=InsightKind.choices)
    template = models.ForeignKey(InsightTemplate, models.SET_NULL, null=True, blank=True, related_name="insights")
    template_name = models.CharField(max_length=80, blank=True)  # kept if the template is deleted
    content = models.JSONField(null=True, blank=True)

    class Meta(LlmRequest.Meta):
        indexes = [models.Index(fields=["transcript", "kind", "-created_at"], name="insight_latest")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.transcript_id}"


class Question(LlmRequest):
    """A question asked of a transcript; the answer cites the segments it used."""

    question = models.TextField(max_length=1000)
    answer = models.TextField(blank=True)

    class Meta(LlmRequest.Meta):
        indexes = [models.Index(fields=["transcript", "-created_at"], name="question_latest")]

    def __str__(self) -> str:
        return self.question[:60]
