"""Models set themselves up, or say plainly that they are not: /healthz reports the ASR readiness,
the ops page has a model card, staff get a banner on the dashboard, and a job that fails because
the server is not set up tells the member so in plain words while staff see every missing model,
the cache path and the command, and requeue all such jobs at once when it is fixed.

The hub is never reachable here: an empty hub cache, and endpoints that would record a connection."""

from __future__ import annotations

import io
import shutil
import socket

import pytest
from django.core.management import call_command
from django.test import Client

from portal.models import Membership, Profile, Role
from tests.asr_fixtures import tiny_env
from tests.conftest import login
from tests.ops_support import make_staff
from tests.queue_support import make_job
from transcription.asr.hub import HUB_NAMES
from transcription.job_states import JobStatus
from transcription.models import Job, JobAttempt
from transcription.services.worker import worker_drain

pytestmark = pytest.mark.django_db

PLAIN = "Speech recognition is not set up yet on this server; an administrator can see why."


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty ModelScope cache, and a hub endpoint that records any connection attempt."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    cache = tmp_path / "modelscope"
    monkeypatch.setenv("MODELSCOPE_CACHE", str(cache))
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", f"http://127.0.0.1:{listener.getsockname()[1]}")
    yield cache
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
    listener.close()


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty ModelScope cache and a hub that refuses connections at once (this machine is offline)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cache = tmp_path / "modelscope"
    monkeypatch.setenv("MODELSCOPE_CACHE", str(cache))
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", f"http://127.0.0.1:{port}")
    return cache


@pytest.fixture
def not_set_up(settings, hub, tiny_models, tmp_path):
    """The default hub ASR model (never downloaded) and a punctuation directory that is not there."""
    for name, value in tiny_env(tiny_models).items():
        setattr(settings, name, int(value) if value.isdigit() else value)
    settings.ASR_MODEL, settings.ASR_HUB = "paraformer-zh", "ms"
    settings.ASR_PUNC_MODEL = str(tmp_path / "punc-model")
    return settings


@pytest.fixture
def staff(team):
    """Sam, staff and an admin of Alice's team."""
    sam = make_staff()
    Membership.objects.create(team=team, user=sam, role=Role.ADMIN)
    return sam


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- /healthz ------------------------------------------------------------------------------------


def test_healthz_says_asr_is_ready_with_models_in_place(asr_settings):
    r = Client().get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["asr"] == {"ready": True, "problems": []}


def test_healthz_names_every_setting_that_is_wrong_without_paths(not_set_up, tmp_path):
    r = Client().get("/healthz")
    assert r.status_code == 200  # the web node serves pages either way
    body = r.json()
    assert body["status"] == "ok"
    assert body["asr"] == {"ready": False, "problems": [
        "ASR_MODEL: paraformer-zh is not downloaded", "ASR_PUNC_MODEL: the model directory does not exist"]}
    assert str(tmp_path) not in r.content.decode()


def test_healthz_says_when_this_node_does_not_check_its_models(not_set_up):
    not_set_up.ASR_CHECK_MODELS = False
    assert Client().get("/healthz").json()["asr"] == {"ready": None, "checked": False, "problems": []}


# --- the ops card and the staff banner -----------------------------------------------------------


def test_the_ops_page_shows_what_is_missing_and_both_fixes(not_set_up, staff, hub):
    html = login(staff).get("/ops/").content.decode()
    assert 'data-asr-ready="false"' in html
    assert "paraformer-zh" in html and "is not downloaded on this machine" in html
    assert "ASR_PUNC_MODEL" in html and "does not exist" in html
    assert "python manage.py asr_models download" in html and str(hub) in html
    assert "config.yaml and model.pt" in html


def test_staff_who_read_chinese_see_the_problems_in_chinese_and_healthz_stays_english(not_set_up, staff, hub):
    Profile.objects.update_or_create(user=staff, defaults={"language": "zh-hans"})
    client = login(staff)
    html = client.get("/ops/").content.decode()
    assert "ASR_MODEL 为 &#x27;paraformer-zh&#x27;（ModelScope 上的 " in html and "本机尚未下载" in html
    assert "ASR_PUNC_MODEL 为" in html and "但该目录不存在" in html
    assert "is not downloaded" not in html and "does not exist" not in html
    assert "ASR_MODEL：paraformer-zh 尚未下载" in client.get("/").content.decode()  # the banner's briefs
    problems = Client(headers={"accept-language": "zh-CN"}).get("/healthz").json()["asr"]["problems"]
    assert problems == ["ASR_MODEL: paraformer-zh is not downloaded",
                        "ASR_PUNC_MODEL: the model directory does not exist"]


def test_the_ops_page_lists_each_model_and_where_it_loads_from(asr_settings, staff, tiny_models):
    html = login(staff).get("/ops/").content.decode()
    assert 'data-asr-ready="true"' in html
    assert str(tiny_models["asr"]) in html and "local directory" in html
    Profile.objects.update_or_create(user=staff, defaults={"language": "zh-hans"})
    assert "本地目录" in login(staff).get("/ops/").content.decode()
    assert "Two ways to fix it" not in html


def test_staff_see_a_banner_on_the_dashboard_while_models_are_missing(not_set_up, staff, alice):
    staff_page = login(staff).get("/").content.decode()
    assert "Speech recognition is not set up on this server yet." in staff_page
    assert "ASR_MODEL: paraformer-zh is not downloaded" in staff_page and "/ops/#ops-models" in staff_page
    member_page = login(alice).get("/").content.decode()
    assert "Speech recognition is not set up" not in member_page and "ASR_MODEL" not in member_page


def test_the_banner_goes_away_once_the_models_are_in_place(asr_settings, staff):
    assert "Speech recognition is not set up" not in login(staff).get("/").content.decode()


# --- a job that fails because the server is not set up -------------------------------------------


@pytest.fixture
def failed_job(not_set_up, project, alice, mailoutbox):
    Profile.objects.update_or_create(user=alice, defaults={"email_on_finish": True})
    job = make_job(project, alice, name="interview.wav", store=True)
    assert worker_drain(worker="test:1", prefetch=False) == 1
    job.refresh_from_db()
    return job


@pytest.mark.django_db(transaction=True)
def test_a_not_set_up_failure_names_every_missing_model_for_staff(failed_job, staff, hub):
    assert failed_job.status == JobStatus.FAILED and failed_job.is_not_set_up
    html = login(staff).get(f"/jobs/{failed_job.pk}/").content.decode()
    assert PLAIN in html
    assert "Why (staff only)" in html
    assert "ASR_MODEL is &#x27;paraformer-zh&#x27;" in html and "ASR_PUNC_MODEL is" in html  # both, not the first
    assert str(hub) in html and "asr_models download" in html
    assert ">Retry</button>" in html  # staff may requeue it by hand too


@pytest.mark.django_db(transaction=True)
def test_the_member_sees_a_plain_message_and_no_retry(failed_job, alice):
    client = login(alice)
    html = client.get(f"/jobs/{failed_job.pk}/").content.decode()
    assert PLAIN in html
    for detail in ("ASR_MODEL", "ASR_PUNC_MODEL", "asr_models", "modelscope", "Why (staff only)", ">Retry</button>"):
        assert detail not in html, detail
    queue = client.get("/queue/").content.decode()
    assert PLAIN in queue and "ASR_MODEL" not in queue
    assert [a.error for a in JobAttempt.objects.filter(job=failed_job)] == [PLAIN]


@pytest.mark.django_db(transaction=True)
def test_a_member_retry_is_refused_with_the_reason_and_changes_nothing(failed_job, alice):
    r = login(alice).post(f"/jobs/{failed_job.pk}/retry/", {"next": f"/jobs/{failed_job.pk}/"}, follow=True)
    assert "An administrator will queue this job again once it is." in r.content.decode()
    assert Job.objects.get(pk=failed_job.pk).status == JobStatus.FAILED
    api = Client()
    api.force_login(alice)
    r = api.post(f"/api/v1/jobs/{failed_job.pk}/retry/")
    assert r.status_code == 409 and "not set up" in r.json()["detail"]
    assert api.get(f"/api/v1/jobs/{failed_job.pk}/").json()["error"] == PLAIN


@pytest.mark.django_db(transaction=True)
def test_the_email_to_the_member_is_plain_too(failed_job, alice, mailoutbox):
    assert [m.subject for m in mailoutbox] == ["Transcription failed: interview.wav"]
    assert PLAIN in mailoutbox[0].body and "ASR_MODEL" not in mailoutbox[0].body


# --- staff requeue them all ---------------------------------------------------------------------


def _failed(project, user, *, not_set_up: bool, name: str) -> Job:
    return make_job(project, user, status=JobStatus.FAILED, name=name, error=PLAIN if not_set_up else "Bad file.",
                    not_set_up=not_set_up, attempts=1)


def test_staff_requeue_every_not_set_up_job_in_one_action(asr_settings, staff, project, alice):
    waiting = [_failed(project, alice, not_set_up=True, name=f"{n}.wav") for n in range(3)]
    bad_file = _failed(project, alice, not_set_up=False, name="broken.wav")
    page = login(staff).get("/ops/").content.decode()
    assert "3 jobs failed because speech recognition was not set up." in page
    r = login(staff).post("/ops/requeue-not-set-up/", follow=True)
    assert "3 jobs are back in the queue." in r.content.decode()
    assert {j.status for j in Job.objects.filter(pk__in=[j.pk for j in waiting])} == {JobStatus.QUEUED}
    assert not Job.objects.filter(not_set_up=True).exists()
    assert Job.objects.get(pk=bad_file.pk).status == JobStatus.FAILED
    assert "failed because speech recognition was not set up" not in login(staff).get("/ops/").content.decode()


def test_only_staff_can_requeue_them(asr_settings, project, alice, charlie):
    job = _failed(project, alice, not_set_up=True, name="a.wav")
    anonymous = Client().post("/ops/requeue-not-set-up/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert login(charlie).post("/ops/requeue-not-set-up/").status_code == 404  # the ops pages do not exist for them
    assert login(alice).post("/ops/requeue-not-set-up/").status_code == 404
    assert Job.objects.get(pk=job.pk).status == JobStatus.FAILED


# --- make run: asr_models setup ------------------------------------------------------------------


def test_setup_offline_prints_one_block_with_the_missing_models_and_both_fixes(settings, offline, tiny_models):
    settings.ASR_MODEL, settings.ASR_VAD_MODEL, settings.ASR_PUNC_MODEL = "paraformer-zh", "fsmn-vad", "ct-punc"
    out = run("asr_models", "setup")  # never fails: the portal starts anyway
    assert out.count("=" * 72) == 2
    assert "Speech recognition is NOT set up" in out
    for setting in ("ASR_MODEL is 'paraformer-zh'", "ASR_VAD_MODEL is 'fsmn-vad'", "ASR_PUNC_MODEL is 'ct-punc'"):
        assert setting in out
    assert "Cannot reach ModelScope" in out and "looks offline" in out
    assert "Two ways to fix it" in out and "asr_models download" in out and str(offline) in out
    assert "config.yaml and model.pt" in out
    assert not offline.exists() or not any(offline.iterdir())  # nothing half-written


def test_setup_skips_models_already_in_the_hub_cache(settings, hub, tiny_models):
    for role, name in (("asr", "paraformer-zh"), ("vad", "fsmn-vad"), ("punc", "ct-punc")):
        shutil.copytree(tiny_models[role], hub / "models" / HUB_NAMES["ms"][name].replace("/", "--") / "snapshots"
                        / "master")
    settings.ASR_MODEL, settings.ASR_VAD_MODEL, settings.ASR_PUNC_MODEL = "paraformer-zh", "fsmn-vad", "ct-punc"
    settings.ASR_SPK_MODEL, settings.ASR_HUB = "", "ms"
    assert run("asr_models", "setup").strip().endswith("Speech recognition models: all in place.")
    out = run("asr_models", "download")
    assert out.count("already downloaded") == 3 and "downloading" not in out
    assert Client().get("/healthz").json()["asr"] == {"ready": True, "problems": []}
