"""The states of a language-model request (an insight or a question), in one place, as job_states
is for jobs: which statuses mean waiting or working, which may be retried or cancelled, and the
filters and predicates everything else asks. It imports no models."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class LlmStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE = (LlmStatus.QUEUED, LlmStatus.RUNNING)
RETRYABLE = (LlmStatus.FAILED, LlmStatus.CANCELLED)


def q_active() -> Q:
    return Q(status__in=ACTIVE)


def q_retryable() -> Q:
    return Q(status__in=RETRYABLE)


def is_active(row: Any) -> bool:
    return row.status in ACTIVE


def is_queued(row: Any) -> bool:
    return row.status == LlmStatus.QUEUED


def is_succeeded(row: Any) -> bool:
    return row.status == LlmStatus.SUCCEEDED


def is_cancelled(row: Any) -> bool:
    return row.status == LlmStatus.CANCELLED


def is_ended_badly(row: Any) -> bool:
    """Failed or cancelled: what Retry is for."""
    return row.status in RETRYABLE
