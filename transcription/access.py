"""The only way views and the API reach media, jobs and transcripts.

Same rules as portal.access: outside the user's teams → 404, a viewer's
write → 403.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from portal.access import User, authorize, parse_uuid
from transcription.models import Job, MediaFile, Transcript


def get_media_for_user(user: User, media_id: object, *, write: bool = False) -> MediaFile:
    media = MediaFile.objects.select_related("project__team").filter(pk=parse_uuid(media_id)).first()
    if media is None:
        raise Http404("Not found")
    media.membership = authorize(user, media.project.team_id, write=write)  # type: ignore[attr-defined]
    return media


def get_job_for_user(user: User, job_id: object, *, write: bool = False) -> Job:
    job = (
        Job.objects.select_related("project__team", "media", "created_by")
        .filter(pk=parse_uuid(job_id))
        .first()
    )
    if job is None:
        raise Http404("Not found")
    job.membership = authorize(user, job.project.team_id, write=write)  # type: ignore[attr-defined]
    return job


def get_transcript_for_user(user: User, transcript_id: object, *, write: bool = False,
                            manage: bool = False) -> Transcript:
    transcript = (
        Transcript.objects.select_related("job__project__team", "job__media")
        .filter(pk=parse_uuid(transcript_id))
        .first()
    )
    if transcript is None:
        raise Http404("Not found")
    transcript.membership = authorize(  # type: ignore[attr-defined]
        user, transcript.job.project.team_id, write=write, manage=manage
    )
    return transcript


def jobs_for_user(user: User) -> QuerySet[Job]:
    """Every job in the user's teams."""
    if not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(project__team__memberships__user=user)


def transcripts_for_user(user: User) -> QuerySet[Transcript]:
    if not user.is_authenticated:
        return Transcript.objects.none()
    return Transcript.objects.filter(job__project__team__memberships__user=user)
