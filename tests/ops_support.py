"""Builders shared by the admin and ops tests: staff users and many jobs
with known durations and timestamps, inserted in bulk."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission, User

from portal.models import Membership, Project, Team
from transcription.models import Job, JobStatus, MediaFile


def make_staff(username: str = "sam", *, superuser: bool = True, perms: tuple[str, ...] = ()) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", "password", is_staff=True,
                                    is_superuser=superuser)
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def make_media(project: Project, name: str = "talk.wav", duration: float = 60.0) -> MediaFile:
    return MediaFile.objects.create(project=project, file=f"media/{project.pk}/{name}", original_name=name,
                                    size=1024, duration=duration, container="wav", codec="pcm_s16le")


def make_job(project: Project, *, name: str = "talk.wav", user: User | None = None, **fields: Any) -> Job:
    media = make_media(project, name, duration=fields.get("audio_seconds") or 60.0)
    fields.setdefault("status", JobStatus.QUEUED)
    return Job.objects.create(project=project, media=media, created_by=user or project.created_by, **fields)


def make_jobs(project: Project, n: int, *, user: User | None = None, name: str = "file",
              **fields: Any) -> list[Job]:
    """``n`` jobs in two INSERTs; ``fields`` values may be callables of the
    row index, e.g. ``finished_at=lambda i: now - timedelta(minutes=i)``."""
    media = MediaFile.objects.bulk_create([
        MediaFile(project=project, file=f"media/{project.pk}/{name}-{i}", original_name=f"{name}-{i}.wav",
                  size=1024, duration=60.0)
        for i in range(n)
    ], batch_size=500)

    def value(v: Any, i: int) -> Any:
        return v(i) if callable(v) else v

    jobs = [
        Job(project=project, media=m, created_by=user or project.created_by,
            **{k: value(v, i) for k, v in fields.items()})
        for i, m in enumerate(media)
    ]
    return Job.objects.bulk_create(jobs, batch_size=500)


def team_page_form(team: Team, rows: list[tuple[Membership | None, User, str]]) -> dict[str, str]:
    """The POST of the admin's team page: one inline row per (membership or
    None for a new row, user, role)."""
    existing = sum(1 for membership, _user, _role in rows if membership is not None)
    # The team's own boxes as the page shows them (an unticked box is simply not sent).
    ticked = {box: "on" for box in ("allow_urgent", "review_second_person", "llm_allowed")
               if getattr(team, box)}
    data = {"name": team.name, **ticked, "memberships-TOTAL_FORMS": str(len(rows)),
            "memberships-INITIAL_FORMS": str(existing), "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000"}
    for n, (membership, user, role) in enumerate(rows):
        if membership is not None:
            data[f"memberships-{n}-id"] = str(membership.pk)
        data.update({f"memberships-{n}-team": str(team.pk), f"memberships-{n}-user": str(user.pk),
                     f"memberships-{n}-role": role})
    return data
