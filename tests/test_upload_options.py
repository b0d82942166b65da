"""Options per upload — model preset, speakers, hotwords — with the
project's defaults, on the web form and the API; what the worker then does
with them (the preset's engine, at most ASR_MAX_ENGINES loaded, hotwords
reaching the engine)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api_support import api, wav_bytes
from tests.conftest import login
from tests.queue_support import make_job
from transcription.asr import engine as engine_module
from transcription.asr.engine import Engine, get_engine, loaded_presets
from transcription.models import Job, Transcript
from transcription.services.worker import worker_drain


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def wav(name: str = "a.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, wav_bytes(1.0), content_type="audio/wav")


@pytest.fixture
def presets(settings, tiny_models):
    """Two presets on this server ("zh" first: the default)."""
    settings.ASR_PRESETS = f"zh={tiny_models['asr']};lang=zh, en={tiny_models['asr']};lang=en"
    return settings


def api_upload(user, project, **fields):
    return api(user).post(f"/api/v1/projects/{project.id}/uploads/", {"file": [wav()], **fields},
                          format="multipart")


@pytest.mark.django_db
def test_an_api_upload_records_its_options(project, alice, presets):
    r = api_upload(alice, project, preset="en", speakers="off", hotwords="Paraformer, 通义, Paraformer")
    assert r.status_code == 201, r.content
    job_json = r.json()["jobs"][0]
    assert job_json["options"] == {"preset": "en", "speakers": "off", "hotwords": ["Paraformer", "通义"]}
    assert Job.objects.get().options["preset"] == "en"


@pytest.mark.django_db
def test_an_upload_without_options_takes_the_projects_defaults(project, alice, presets):
    project.preset = "en"
    project.save(update_fields=["preset"])
    r = api_upload(alice, project)
    assert r.json()["jobs"][0]["options"] == {"preset": "en", "speakers": "off", "hotwords": []}


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "message"), [
    ({"preset": "fr"}, "Unknown model preset fr"),
    ({"speakers": "11"}, "speakers must be off, auto or a number from 2 to 10"),
    ({"speakers": "many"}, "speakers must be off, auto or a number from 2 to 10"),
    ({"speakers": "2"}, "no speaker model is configured"),
])
def test_a_bad_option_is_refused_with_the_reason_and_nothing_is_queued(project, alice, presets, fields, message):
    r = api_upload(alice, project, **fields)
    assert r.status_code == 400 and message in r.json()["detail"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_the_upload_form_offers_the_presets_and_explains_disabled_speakers(project, alice, presets):
    html = login(alice).get(f"/projects/{project.id}/").content.decode()
    assert '<option value="en"' in html and '<option value="zh"' in html
    assert "no speaker model is configured" in html and 'name="speakers" data-upload-option disabled' in html


@pytest.mark.django_db
def test_the_web_form_sends_the_same_options(project, alice, presets, settings, tiny_models):
    settings.ASR_SPK_MODEL = str(tiny_models["spk"])
    r = login(alice).post(f"/projects/{project.id}/upload/", {"files": [wav()], "preset": "en", "speakers": "3",
                                                             "hotwords": "Qwen"})
    assert r.status_code in (200, 302)
    assert Job.objects.get().options == {"preset": "en", "speakers": "3", "hotwords": ["Qwen"]}


# -- the worker ---------------------------------------------------------------------------------


@pytest.fixture
def engine_calls(monkeypatch) -> list[dict]:
    """What each engine call was asked for (the real engine still runs)."""
    calls: list[dict] = []
    real = Engine.recognize

    def spy(self, prepared, **kwargs):
        calls.append({"preset": self.config.preset, "hotwords": list(kwargs.get("hotwords", ())),
                      "speakers": kwargs.get("speakers")})
        return real(self, prepared, **kwargs)

    monkeypatch.setattr(Engine, "recognize", spy)
    return calls


def stored_job(project, user, speech, **options) -> Job:
    job = make_job(project, user, name="talk.wav", options={"preset": "", "speakers": "off", "hotwords": [],
                                                             **options})
    job.media.file.save("talk.wav", ContentFile(speech[0].read_bytes()), save=True)
    return job


@pytest.mark.django_db(transaction=True)
def test_each_job_runs_on_its_presets_engine(project, alice, asr_settings, presets, speech, engine_calls):
    zh = stored_job(project, alice, speech, preset="zh")
    en = stored_job(project, alice, speech, preset="en")
    worker_drain(worker="w1")
    assert sorted(c["preset"] for c in engine_calls) == ["en", "zh"]  # never one batch: presets differ
    for job, preset, language in ((zh, "zh", "zh"), (en, "en", "en")):
        transcript = Transcript.objects.get(job=job)
        assert (transcript.preset, transcript.language) == (preset, language)
        assert transcript.job.models_used["asr"]


@pytest.mark.django_db(transaction=True)
def test_upload_hotwords_reach_the_engine_with_the_projects(project, alice, asr_settings, speech, engine_calls):
    project.hotwords = ["通义"]
    project.save(update_fields=["hotwords"])
    stored_job(project, alice, speech, hotwords=["Paraformer"])
    stored_job(project, alice, speech)
    worker_drain(worker="w1")
    assert sorted(map(tuple, (c["hotwords"] for c in engine_calls))) == [("通义",), ("通义", "Paraformer")]


def test_at_most_asr_max_engines_stay_loaded(settings, tiny_models, tmp_path):
    settings.ASR_DEVICE, settings.ASR_NCPU = "cpu", 1
    settings.ASR_VAD_MODEL, settings.ASR_PUNC_MODEL = str(tiny_models["vad"]), str(tiny_models["punc"])
    settings.ASR_SPK_MODEL = ""
    settings.ASR_PRESETS = ", ".join(f"{n}={tiny_models['asr']};lang={n}" for n in ("zh", "en", "ja"))
    settings.ASR_MAX_ENGINES = 2
    engine_module._engines.clear()
    zh = get_engine("zh")
    get_engine("en")
    assert get_engine("zh") is zh and loaded_presets() == ["en", "zh"]
    get_engine("ja")  # the least recently used (en) goes
    assert loaded_presets() == ["zh", "ja"]
    assert get_engine("") is zh  # a blank preset is the first one declared
    with pytest.raises(engine_module.EngineConfigError, match="no longer configured"):
        get_engine("fr")
    engine_module._engines.clear()
