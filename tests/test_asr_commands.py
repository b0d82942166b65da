"""`manage.py transcribe` and `manage.py asr_models` on the tiny models. No test here has database
access, which proves the commands do not need one."""

from __future__ import annotations

import io
import json
import re
import socket

import pytest
from django.core.management import CommandError, call_command


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_transcribes_files_to_json_files(asr_settings, speech, speech_variants, tmp_path):
    _, err = run("transcribe", str(speech[0]), str(speech_variants["m4a"]), "--format", "json", "--out", str(tmp_path))
    for path in (speech[0], speech_variants["m4a"]):
        document = json.loads((tmp_path / f"{path.name}.json").read_text())
        assert document["file"] == str(path) and document["text"]
        assert document["audio_seconds"] == pytest.approx(21.1, abs=0.5)
        assert document["models"]["asr"] == asr_settings.ASR_MODEL
        assert [s["index"] for s in document["segments"]] == list(range(len(document["segments"])))
        assert f"{path.name} -> " in err


def test_it_prints_subtitles(asr_settings, speech):
    out, _ = run("transcribe", str(speech[0]), "--format", "srt", "--hotword", "hello")
    cues = out.strip().split("\n\n")
    assert cues and all(re.fullmatch(r"\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.+", c) for c in cues)
    assert cues[0].startswith("1\n")


def test_it_reports_unreadable_files_and_transcribes_the_rest(asr_settings, speech, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not audio\n" * 50)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 file"):
        call_command("transcribe", str(notes), str(speech[0]), stdout=out, stderr=err)
    assert "notes.txt: This file is not an audio or video file" in err.getvalue()
    assert out.getvalue().strip()  # the good file's text


def test_it_checks_where_each_model_loads_from(asr_settings):
    out, _ = run("asr_models", "check", "--load")
    assert re.search(r"asr +ASR_MODEL=.* ok: local directory", out)
    assert re.search(r"vad +ASR_VAD_MODEL=.* ok: local directory", out)
    assert "spk   ASR_SPK_MODEL='' off" in out
    assert "engine loaded on cpu" in out


def test_it_names_the_setting_and_the_fix_for_a_missing_model(asr_settings, tmp_path):
    asr_settings.ASR_PUNC_MODEL = str(tmp_path / "punc-model")
    asr_settings.ASR_MODEL = "paraformer-zh"
    asr_settings.ASR_HUB = "hf"
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 ASR model setting"):
        call_command("asr_models", "check", stdout=out)
    assert "ASR_PUNC_MODEL is" in out.getvalue() and "does not exist" in out.getvalue()
    assert "funasr/paraformer-zh on Hugging Face" in out.getvalue() and "asr_models download" in out.getvalue()


def test_it_explains_that_downloading_needs_the_hub(asr_settings, tmp_path, monkeypatch):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connections are refused at once
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path))
    asr_settings.ASR_MODEL = "paraformer-zh"
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"Cannot reach ModelScope .* looks offline"):
        call_command("asr_models", "download", stdout=out)
    assert "vad   ASR_VAD_MODEL=" in out.getvalue() and "nothing to download" in out.getvalue()
    assert list(tmp_path.iterdir()) == []
