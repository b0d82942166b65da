"""Every model staff need is in the admin with a useful list view that costs
a fixed number of queries, secrets stay hidden, and what the application
records cannot be edited by hand."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from portal.models import AuditEvent, Membership, Profile, Role
from tests.conftest import login
from tests.ops_support import make_job, make_jobs, make_staff, team_page_form
from transcription.models import (
    JobStatus,
    ProjectExport,
    Revision,
    Segment,
    Transcript,
    Webhook,
    WebhookDelivery,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(project, alice):
    """A few rows of every kind, each pointing at different parents, so a
    query per row would show up in the counts."""
    jobs = make_jobs(project, 12, status=JobStatus.SUCCEEDED, finished_at=timezone.now(), audio_seconds=30.0,
                     processing_seconds=3.0)
    hook = Webhook.objects.create(project=project, url="https://hooks.example.org/in", secret="s3cr3t-signing-key",
                                  created_by=alice)
    for job in jobs:
        t = Transcript.objects.create(job=job, text="hello world", audio_seconds=30.0, approved_by=alice)
        seg = Segment.objects.create(transcript=t, index=0, start=0, end=1, text="hello")
        Revision.objects.create(transcript=t, segment=seg, author=alice, before="helo", after="hello")
        WebhookDelivery.objects.create(webhook=hook, job=job, event="job.succeeded", payload={}, status_code=200,
                                       succeeded=True)
        ProjectExport.objects.create(project=project, requested_by=alice, format="txt")
        AuditEvent.objects.create(actor=alice, actor_name="alice", action="transcript.view", team=project.team,
                                  team_name=project.team.name, object_repr=str(t.pk))
    Profile.objects.create(user=alice, language="zh-hans")
    return jobs


PAGES = [
    ("transcription/mediafile", "file-0.wav"),
    ("transcription/transcript", "file-0.wav"),
    ("transcription/revision", "helo"),
    ("transcription/webhook", "hooks.example.org"),
    ("transcription/webhookdelivery", "job.succeeded"),
    ("transcription/projectexport", "Interviews"),
    ("portal/team", "Alpha"),
    ("portal/membership", "alice"),
    ("portal/project", "Interviews"),
    ("portal/profile", "alice"),
    ("portal/auditevent", "transcript.view"),
    ("django_q/schedule", ""),
    ("django_q/success", ""),
    ("django_q/failure", ""),
] + ([("django_q/ormq", "")] if "orm" in settings.Q_CLUSTER else [])


@pytest.mark.parametrize(("page", "text"), PAGES)
def test_it_lists_each_model_in_a_bounded_number_of_queries(records, page, text, django_assert_max_num_queries):
    client = login(make_staff())
    client.get(f"/admin/{page}/")
    with django_assert_max_num_queries(14):
        r = client.get(f"/admin/{page}/")
    assert r.status_code == 200
    assert text in r.content.decode()


def test_it_never_shows_a_webhook_secret(records):
    client = login(make_staff())
    hook = Webhook.objects.get()
    for url in ("/admin/transcription/webhook/", f"/admin/transcription/webhook/{hook.pk}/change/"):
        assert "s3cr3t-signing-key" not in client.get(url).content.decode()


def test_it_lets_staff_pause_a_webhook_from_the_list(records):
    client = login(make_staff())
    hook = Webhook.objects.get()
    r = client.post("/admin/transcription/webhook/", {
        "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0", "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(hook.pk), "_save": "Save",
    })
    assert r.status_code == 302
    hook.refresh_from_db()
    assert hook.active is False and hook.secret == "s3cr3t-signing-key"


def test_it_shows_recorded_rows_read_only(records):
    client = login(make_staff())
    transcript = Transcript.objects.first()
    assert client.get("/admin/transcription/transcript/add/").status_code == 403
    page = client.get(f"/admin/transcription/transcript/{transcript.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    # The text box is styled from a stylesheet: the CSP blocks inline styles.
    assert 'class="admin-long-text"' in page.content.decode() and " style=" not in page.content.decode()
    assert "/static/css/admin-text.css" in page.content.decode()
    r = client.post(f"/admin/transcription/transcript/{transcript.pk}/change/", {"review_status": "approved"})
    assert r.status_code == 403
    assert Transcript.objects.get(pk=transcript.pk).review_status == "draft"


def test_it_refuses_the_admin_to_non_staff(records, alice):
    for page, _text in PAGES[:6]:
        r = login(alice).get(f"/admin/{page}/")
        assert r.status_code == 302 and r["Location"].startswith("/admin/login/")


def test_it_shows_staff_a_transcript_and_records_that_they_read_it(records, team):
    client = login(make_staff())
    transcript = Transcript.objects.select_related("job").first()
    html = client.get(f"/admin/transcription/transcript/{transcript.pk}/change/").content.decode()
    assert f"/admin/transcription/job/{transcript.job_id}/change/" in html and "hello world" in html
    event = AuditEvent.objects.get(action="transcript.view", actor_name="sam")
    assert (event.team, event.object_id, event.detail) == (team, str(transcript.pk), {"via": "admin"})


def test_it_lets_staff_download_media_and_records_it(project, team, alice, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    job = make_job(project, name="Interview 采访.m4a")
    job.media.file.save("stored", ContentFile(b"not really m4a"), save=True)
    client = login(make_staff())
    r = client.get(f"/admin/transcription/mediafile/{job.media_id}/download/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"not really m4a"
    assert r["Content-Type"] == "audio/mp4" and "attachment" in r["Content-Disposition"]
    assert "%E9%87%87%E8%AE%BF" in r["Content-Disposition"]
    event = AuditEvent.objects.get(action="media.download")
    assert (event.actor_name, event.team, event.detail) == ("sam", team, {"download": True, "via": "admin"})
    assert login(alice).get(f"/admin/transcription/mediafile/{job.media_id}/download/").status_code == 302
    assert client.post(f"/admin/transcription/mediafile/{job.media_id}/download/").status_code == 405
    assert AuditEvent.objects.filter(action="media.download").count() == 1


def test_it_says_when_a_media_file_is_missing_from_storage(project, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    job = make_job(project)
    r = login(make_staff()).get(f"/admin/transcription/mediafile/{job.media_id}/download/")
    assert r.status_code == 410 and b"missing from storage" in r.content
    assert not AuditEvent.objects.filter(action="media.download").exists()


def test_it_audits_membership_changes_made_in_the_admin(team, bob, charlie):
    client = login(make_staff())
    r = client.post("/admin/portal/membership/add/", {"team": str(team.pk), "user": str(charlie.pk),
                                                       "role": Role.MEMBER})
    assert r.status_code == 302
    m = Membership.objects.get(team=team, user=charlie)
    r = client.post(f"/admin/portal/membership/{m.pk}/change/", {"role": Role.ADMIN})
    assert r.status_code == 302
    r = client.post(f"/admin/portal/membership/{m.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    events = list(AuditEvent.objects.filter(team=team).order_by("created_at", "id")
                  .values_list("action", "actor_name", "object_repr", "detail"))
    assert events == [
        ("member.add", "sam", "charlie", {"role": "member", "via": "admin"}),
        ("member.role", "sam", "charlie", {"before": "member", "after": "admin", "via": "admin"}),
        ("member.remove", "sam", "charlie", {"role": "admin", "via": "admin"}),
    ]


def test_it_audits_membership_changes_made_on_the_team_page_in_admin(team, alice, bob, charlie):
    client = login(make_staff())
    alice_m = Membership.objects.get(team=team, user=alice)
    bob_m = Membership.objects.get(team=team, user=bob)
    data = team_page_form(team, [(alice_m, alice, Role.OWNER), (bob_m, bob, Role.MEMBER),
                                 (None, charlie, Role.VIEWER)])
    r = client.post(f"/admin/portal/team/{team.pk}/change/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    events = set(AuditEvent.objects.filter(team=team).values_list("action", "object_repr"))
    assert events == {("member.role", "bob"), ("member.add", "charlie")}
    assert AuditEvent.objects.get(action="member.role").detail == {"before": "viewer", "after": "member",
                                                                    "via": "admin"}

