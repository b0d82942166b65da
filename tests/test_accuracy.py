"""Accuracy through the whole portal, measured: the real clips (Mandarin and English: ../shared/speech,
and the LibriVox clips of Debian's pocketsphinx-testdata where installed) uploaded through
the API with a Whisper-base preset, transcribed by a real qcluster (the portal's VAD, batching and
joining), exported as json and scored — WER for English, CER for Chinese after OpenCC t2s — against
their reference texts and against the same model run by faster-whisper on the whole clips outside
the portal. The portal may not be worse by more than 1 point. `bench/accuracy.py` runs this test
and records its figures (BENCH_ACCURACY_OUT)."""

from __future__ import annotations

import json
import os
import time

import pytest
from rest_framework.test import APIClient

from bench.scoring import Score
from bench.scoring import clips as real_clips
from tests.cluster_support import wait_for
from tests.conftest import login
from transcription.asr.audio import decode
from transcription.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def _model_alone(whisper_dir, clips) -> dict[str, str]:
    """faster-whisper on each whole clip (each under Whisper's 30 s window), its own defaults."""
    from faster_whisper import WhisperModel

    model = WhisperModel(str(whisper_dir), device="cpu", compute_type="float32", cpu_threads=1)
    return {name: " ".join(s.text.strip() for s in model.transcribe(decode(path), beam_size=5)[0])
            for name, (path, _language, _reference) in clips.items()}


def test_it_transcribes_real_speech_through_the_portal_as_well_as_the_model_alone(
        clusters, alice, settings, whisper_dir, real_vad_dir, real_speech):
    presets = f"multi=whisper:{whisper_dir};lang=auto"
    settings.ASR_PRESETS, settings.ASR_VAD_MODEL = presets, str(real_vad_dir)  # the web side checks uploads
    clips = real_clips()
    assert len(clips) >= 3, f"no reference clips in {real_speech}"
    cluster = clusters(ASR_PRESETS=presets, ASR_VAD_MODEL=str(real_vad_dir), ASR_BATCH_SECONDS="120")
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "alice", "password": "password"}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    team = client.post("/api/v1/teams/", {"name": "Languages"}, format="json").json()
    project = client.post("/api/v1/projects/", {"team": team["id"], "name": "Real speech"}, format="json").json()
    handles = [open(path, "rb") for path, _language, _reference in clips.values()]  # noqa: SIM115 - closed below
    try:
        r = client.post(f"/api/v1/projects/{project['id']}/uploads/", {"file": handles, "preset": "multi"},
                        format="multipart")
    finally:
        for handle in handles:
            handle.close()
    assert r.status_code == 201 and r.json()["rejected"] == [], r.content
    started = time.monotonic()
    wait_for(lambda: Job.objects.filter(status="succeeded").count() == len(clips), timeout=900,
             what="the real clips to be transcribed", cluster=cluster)
    portal_seconds = time.monotonic() - started

    exported, web = {}, login(alice)
    for job in r.json()["jobs"]:
        transcript = client.get(f"/api/v1/jobs/{job['id']}/").json()["transcript"]
        export = client.get(f"/api/v1/transcripts/{transcript}/export/?format=json")
        assert export.status_code == 200
        exported[job["filename"]] = json.loads(export.content)
        page = web.get(f"/transcripts/{transcript}/").content.decode()
        name = {"en": "English", "zh": "Simplified Chinese"}[clips[job["filename"]][1]]  # the detected language
        assert f'<span id="transcript-language">Language: {name}</span>' in page
    alone = _model_alone(whisper_dir, clips)

    rows, totals = [], {"zh": (Score(), Score()), "en": (Score(), Score())}
    for name, (_path, language, reference) in clips.items():
        data = exported[name]
        assert data["language"] == language, name  # detected per file
        assert data["segments"] and all(s["words"] for s in data["segments"])  # word times kept
        portal, model = totals[language]
        portal.add(reference, data["text"])
        model.add(reference, alone[name])
        rows.append({"clip": name, "language": language, "portal": data["text"], "model": alone[name],
                     "portal_rate": Score().add(reference, data["text"]).rate,
                     "model_rate": Score().add(reference, alone[name]).rate})
    for row in rows:
        print(f"{row['clip']}: portal {row['portal']!r} ({row['portal_rate']:.1f} %), "
              f"model alone {row['model']!r} ({row['model_rate']:.1f} %)")
    summary = {language: {"portal": portal.rate, "model": model.rate, "units": portal.units}
               for language, (portal, model) in totals.items()}
    print(f"WER en: portal {summary['en']['portal']:.1f} %, model alone {summary['en']['model']:.1f} %; "
          f"CER zh: portal {summary['zh']['portal']:.1f} %, model alone {summary['zh']['model']:.1f} %")
    if out := os.getenv("BENCH_ACCURACY_OUT"):
        with open(out, "w", encoding="utf-8") as f:
            json.dump({"clips": rows, "summary": summary, "portal_seconds": portal_seconds}, f, ensure_ascii=False)
    for language, figures in summary.items():
        assert figures["portal"] <= figures["model"] + 1.0, (language, figures)
