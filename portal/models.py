"""The people side: teams, their members and roles, projects, preferences,
and the append-only audit log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")
    VIEWER = "viewer", _("Viewer")


# Roles that may change things (upload, edit transcripts, cancel jobs).
WRITE_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
# Roles that may manage the team and its projects (members, rename, delete).
MANAGE_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Team(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=100)
    # Owners and admins may let members put their own uploads ahead of the fair-share order.
    allow_urgent = models.BooleanField(_("members may mark their uploads urgent"), default=False)
    # Whoever submits a transcript for review cannot also approve it.
    review_second_person = models.BooleanField(_("a second person approves transcripts"), default=True)
    # Owners may forbid sending the team's transcripts to the language-model server (insights).
    llm_allowed = models.BooleanField(_("transcripts may be sent to the language model"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="unique_membership")]
        ordering = ["team__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGE_ROLES


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, models.CASCADE, related_name="projects")
    name = models.CharField(_("name"), max_length=100)
    # Words the ASR should favour (SeacoParaformer hotwords), one per entry.
    hotwords = models.JSONField(_("hotwords"), default=list, blank=True)
    # Defaults for uploads (each upload may choose otherwise): an ASR_PRESETS name ("" = the first),
    # speakers "off", "auto" or "2".."10", and numbers as digits "auto" (Chinese presets), "on", "off".
    preset = models.CharField(_("model"), max_length=64, blank=True)
    speakers = models.CharField(_("speakers"), max_length=8, default="off")
    itn = models.CharField(_("numbers as digits"), max_length=4, default="auto")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Theme(models.TextChoices):
    """Colour scheme of the pages: the system's (light or dark as the device says), or always one."""

    SYSTEM = "system", _("System")
    LIGHT = "light", _("Light")
    DARK = "dark", _("Dark")

    @property
    def data_theme(self) -> str:
        """Pico's data-theme attribute: none follows the system."""
        return "" if self == Theme.SYSTEM else self.value

    @property
    def color_scheme(self) -> str:
        """The color-scheme meta tag (form controls and scroll bars)."""
        return "light dark" if self == Theme.SYSTEM else self.value

    @classmethod
    def of(cls, value: str | None) -> Theme:
        return cls(value) if value in cls.values else cls.SYSTEM


class Profile(models.Model):
    """Per-user preferences: interface language, time zone, theme, notifications."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="profile")
    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=settings.LANGUAGES
    )
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    theme = models.CharField(_("theme"), max_length=10, choices=Theme.choices, default=Theme.SYSTEM)
    email_on_finish = models.BooleanField(
        _("email me when my job finishes or fails"), default=False
    )
    # A new address waiting for its confirmation link to be opened.
    email_pending = models.EmailField(blank=True)
    # The hash of a password handed out once (the first admin's): while the account still has it,
    # every page asks for a new one.
    one_time_password = models.CharField(max_length=128, blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class Invitation(models.Model):
    """An emailed link that lets one person join a team with a role. Only a
    hash of the link's token is stored; the link works once, until it expires
    or is revoked (see portal.services.invitations for the rules)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.team}"


class AuditAction(models.TextChoices):
    TRANSCRIPT_VIEW = "transcript.view", _("viewed transcript")
    TRANSCRIPT_EDIT = "transcript.edit", _("edited transcript")
    TRANSCRIPT_EXPORT = "transcript.export", _("exported transcript")
    TRANSCRIPT_REVIEW = "transcript.review", _("changed review status")
    TRANSCRIPT_DELETE = "transcript.delete", _("deleted transcript")
    MEDIA_DOWNLOAD = "media.download", _("downloaded media")
    PROJECT_EXPORT = "project.export", _("exported project")
    MEMBER_ADD = "member.add", _("added member")
    MEMBER_ROLE = "member.role", _("changed member role")
    MEMBER_REMOVE = "member.remove", _("removed member")
    PROJECT_DELETE = "project.delete", _("deleted project")
    TEAM_DELETE = "team.delete", _("deleted team")
    JOB_CANCEL = "job.cancel", _("cancelled job")
    JOB_RETRY = "job.retry", _("retried job")
    JOB_PRIORITY = "job.priority", _("changed job priority")
    JOB_REVIEW = "job.review", _("marked job checked by staff")
    WEBHOOK_ADD = "webhook.add", _("added webhook")
    WEBHOOK_REMOVE = "webhook.remove", _("removed webhook")
    WEBHOOK_PAUSE = "webhook.pause", _("paused or resumed webhook")
    WEBHOOK_TEST = "webhook.test", _("sent a test event to webhook")
    TEAM_SETTINGS = "team.settings", _("changed team settings")
    PROJECT_HOTWORDS = "project.hotwords", _("changed project hotwords")
    TRANSCRIPT_REPLACE = "transcript.replace", _("replaced text")
    SPEAKERS_RECLUSTER = "transcript.speakers", _("re-grouped speakers")
    SIGN_IN_UNLOCK = "account.unlock", _("unlocked sign-in")
    INVITATION_CREATE = "invitation.create", _("invited someone")
    INVITATION_ACCEPT = "invitation.accept", _("accepted an invitation")
    INVITATION_REVOKE = "invitation.revoke", _("revoked an invitation")
    ACCOUNT_EMAIL = "account.email", _("changed email address")
    ACCOUNT_CREATE = "account.create", _("created account")
    TOKEN_CREATE = "token.create", _("created API token")
    TEAM_CREATE = "team.create", _("created team")
    PROJECT_CREATE = "project.create", _("created project")
    PROJECT_SETTINGS = "project.settings", _("changed project settings")
    MEDIA_UPLOAD = "media.upload", _("uploaded files")
    TOKEN_REVOKE = "token.revoke", _("revoked API token")
    INSIGHT_REQUEST = "insight.request", _("asked for an insight")
    INSIGHT_CANCEL = "insight.cancel", _("cancelled an insight")
    QUESTION_ASK = "question.ask", _("asked a question")
    INSIGHT_TEMPLATE = "insight.template", _("changed insight templates")


class AuditLogImmutable(Exception):
    """Raised when code tries to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet):
    # Bulk changes through the default manager are refused like save() and
    # delete(). Deleting a team or user still nulls its foreign key: Django's
    # deletion collector updates through the base manager, and the row keeps
    # team_name/actor_name, so the entry stays readable.
    def update(self, **kwargs):
        raise AuditLogImmutable("Audit events cannot be changed.")

    def delete(self):
        raise AuditLogImmutable("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """Who did what to which team's data, when and from where. The
    application only ever inserts rows (see portal.services.audit)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    team = models.ForeignKey(Team, models.SET_NULL, null=True, blank=True, related_name="+")
    team_name = models.CharField(max_length=100, blank=True)
    # What was acted on: kept as text so the row outlives the object.
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AuditLogImmutable("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogImmutable("Audit events cannot be deleted.")
