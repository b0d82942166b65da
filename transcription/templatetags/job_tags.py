"""What a page may offer for a job, for the person looking at it (the rules are job_states')."""

from __future__ import annotations

from typing import Any

from django import template

from transcription import job_states

register = template.Library()


@register.filter
def retryable_by(job: Any, user: Any) -> bool:
    """``{% if job|retryable_by:user %}``: may this person retry this job?"""
    return job_states.can_retry_as(job, staff=bool(getattr(user, "is_staff", False)))
