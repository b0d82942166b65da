"""The FunASR engine on tiny real models: segments, formats, silence, hotwords, progress, cancel,
batching, speakers, and fast failures for models that are not there."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tests import tiny_models as builder
from tests.asr_fixtures import ROOT
from transcription.asr import pipeline
from transcription.asr.audio import decode
from transcription.asr.engine import Cancelled, Engine, EngineConfig, EngineConfigError, get_engine
from transcription.asr.hub import HUB_NAMES


@pytest.fixture(scope="module")
def one_by_one(engine: Engine) -> Engine:
    """The same models with batches of one segment (batch_seconds=1)."""
    return Engine(dataclasses.replace(engine.config, batch_seconds=1))


def test_it_builds_models_that_reload_exactly(tiny_models):
    classes = {}
    for role, directory in tiny_models.items():
        assert builder.verify(directory) > 0
        classes[role] = (directory / "config.yaml").read_text().splitlines()[0]
    assert classes == {"asr": "model: SeacoParaformer", "vad": "model: FsmnVADStreaming",
                       "punc": "model: CTTransformer", "spk": "model: CAMPPlus",
                       "vad_scored": "model: FsmnVADStreaming"}


def test_it_writes_a_tiny_model_set_for_trying_the_portal_offline(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tests.tiny_models", str(tmp_path / "models")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    exports = dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines()
                   if line.startswith("export "))
    assert exports == {name: str(tmp_path / "models" / role) for name, role in
                       (("ASR_MODEL", "asr"), ("ASR_VAD_MODEL", "vad"), ("ASR_PUNC_MODEL", "punc"))}
    assert all(builder.verify(Path(directory)) > 0 for directory in exports.values())


def test_it_never_lets_a_segment_span_a_silence(engine, speech):
    path, gaps = speech
    audio = decode(path)
    result = engine.transcribe(audio)
    assert result.text and result.segments
    assert result.audio_seconds == pytest.approx(len(audio) / 16000)
    assert result.processing_seconds > 0
    assert result.models["asr"] == str(engine.sources["asr"].path) and result.models["spk"] == ""
    assert [s.index for s in result.segments] == list(range(len(result.segments)))
    for segment in result.segments:
        assert segment.text and segment.speaker == ""
        assert 0 <= segment.start < segment.end <= result.audio_seconds
        for gap_start, gap_end in gaps:
            assert segment.end <= gap_start + 0.5 or segment.start >= gap_end - 0.5, (segment, gap_start)
    # speech on both sides of every silence
    for gap_start, gap_end in gaps:
        assert any(s.end <= gap_start + 0.5 for s in result.segments)
        assert any(s.start >= gap_end - 0.5 for s in result.segments)


def test_it_finds_the_same_speech_regions_in_every_format(engine, speech, speech_variants):
    reference = engine.detect_speech(decode(speech[0]))
    assert len(reference) == len(speech[1]) + 1  # one region per sentence
    for name, path in speech_variants.items():
        regions = engine.detect_speech(decode(path))
        assert len(regions) == len(reference), name
        for (start, end), (ref_start, ref_end) in zip(regions, reference, strict=True):
            assert abs(start - ref_start) <= 0.1 and abs(end - ref_end) <= 0.1, (name, regions, reference)


def test_it_returns_an_empty_transcript_for_silence(engine, silence):
    progress: list[float] = []
    result = engine.transcribe(decode(silence), progress=progress.append)
    assert (result.text, result.segments) == ("", [])
    assert result.audio_seconds == pytest.approx(5.0)
    assert progress == [1.0]


@pytest.fixture
def bias_calls(engine):
    """How often SeacoParaformer's hotword (bias) modules ran."""
    model = engine._am.model
    calls = {"bias_encoder": 0, "seaco_decoder": 0}
    hooks = [getattr(model, name).register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
             for name in calls]
    yield calls
    for hook in hooks:
        hook.remove()


def test_it_runs_no_hotword_model_parts_without_hotwords(engine, speech, bias_calls):
    audio = decode(speech[0])
    for hotwords in ((), ["", " "]):
        result = engine.transcribe(audio, hotwords=hotwords)
        assert bias_calls == {"bias_encoder": 0, "seaco_decoder": 0}
        assert result.text == engine._am.generate(input=audio, batch_size_s=300)[0]["text"]


def test_it_biases_towards_hotwords_as_funasr_does(engine, speech, bias_calls):
    audio = decode(speech[0])
    result = engine.transcribe(audio, hotwords=["hello", "你好", " "])
    assert result.text and result.segments and bias_calls["bias_encoder"] > 0
    assert result.text == engine._am.generate(input=audio, batch_size_s=300, hotword="hello 你好")[0]["text"]


def test_it_runs_fp32_on_the_cpu_whatever_precision_is_asked(engine, speech):
    half = Engine(dataclasses.replace(engine.config, dtype="fp16"))
    assert (half.dtype, engine.dtype) == ("fp32", "fp32")
    audio = decode(speech[0])
    assert half.transcribe(audio).text == engine.transcribe(audio).text
    with pytest.raises(EngineConfigError, match="ASR_DTYPE"):
        Engine(dataclasses.replace(engine.config, dtype="int8"))


def test_it_reports_progress_by_segment_up_to_one(one_by_one, speech):
    progress: list[float] = []
    one_by_one.transcribe(decode(speech[0]), progress=progress.append)
    assert progress == sorted(progress) and len(progress) == len(speech[1]) + 1
    assert progress[-1] == 1.0


def test_it_stops_at_a_segment_boundary_when_cancelled(one_by_one, speech):
    progress: list[float] = []
    with pytest.raises(Cancelled):
        one_by_one.transcribe(decode(speech[0]), progress=progress.append, should_cancel=lambda: bool(progress))
    assert len(progress) == 1


def test_it_batches_files_without_changing_what_they_say(engine, one_by_one, speech, speech_variants):
    audios = [decode(speech[0]), decode(speech_variants["mp3"]), decode(speech_variants["m4a"])[: 9 * 16000]]
    batched = engine.recognize_detailed([engine.prepare(a) for a in audios])
    for audio, detailed in zip(audios, batched, strict=True):
        alone = one_by_one.transcribe(audio)
        assert (detailed.result.text, detailed.result.segments) == (alone.text, alone.segments)
        # and what FunASR's own pipeline says, one file at a time, to the token timestamps
        plain = engine._am.generate(input=audio, batch_size_s=300)
        assert (detailed.result.text, detailed.timestamps) == (plain[0]["text"], plain[0]["timestamp"])


@pytest.fixture(scope="module")
def small_batches(engine: Engine) -> Engine:
    """Batches of at most 10 s of padded audio: several batches, each mixing files."""
    return Engine(dataclasses.replace(engine.config, batch_seconds=10))


def test_it_drops_a_cancelled_file_and_finishes_the_others_unchanged(small_batches, one_by_one, speech,
                                                                     speech_variants):
    audios = [decode(speech[0]), decode(speech_variants["mp3"])[: 12 * 16000], decode(speech_variants["m4a"])]
    prepared = [small_batches.prepare(a) for a in audios]
    reports: list[tuple[int, float]] = []
    results = small_batches.recognize(prepared, progress=lambda i, f: reports.append((i, f)),
                                      cancelled=lambda i: i == 1 and any(j == 1 for j, _ in reports))
    assert isinstance(results[1], Cancelled)
    file1 = [f for i, f in reports if i == 1]
    assert file1 and file1[-1] < 1.0  # stopped part-way
    for i in (0, 2):
        alone = one_by_one.transcribe(audios[i])
        assert (results[i].text, results[i].segments) == (alone.text, alone.segments)
        fractions = [f for j, f in reports if j == i]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        assert results[i].audio_seconds == pytest.approx(len(audios[i]) / 16000)
        assert results[i].processing_seconds >= prepared[i].prepare_seconds > 0


def test_it_prepares_the_next_files_while_recognizing_others(engine, speech, speech_variants):
    first = [engine.prepare(decode(speech[0]))]
    later = [decode(speech_variants[name]) for name in ("mp3", "flac", "m4a")]
    expected = [engine.prepare(a).speech_ms for a in later]
    prepared: list = []
    worker = threading.Thread(target=lambda: prepared.extend(engine.prepare(a) for a in later))
    worker.start()
    result = engine.recognize(first)[0]
    worker.join()
    assert [p.speech_ms for p in prepared] == expected
    assert result.text == engine.transcribe(decode(speech[0])).text


def test_it_labels_speakers_when_diarization_is_on(engine, tiny_models, speech):
    with_speakers = Engine(dataclasses.replace(engine.config, spk_model=str(tiny_models["spk"])))
    result = with_speakers.transcribe(decode(speech[0]))
    assert result.segments and result.models["spk"] == str(tiny_models["spk"])
    assert all(s.speaker.startswith("Speaker ") for s in result.segments)


def test_it_loads_hub_names_from_the_local_cache(tiny_models, tmp_path, monkeypatch):
    t = np.arange(16000) / 16000
    tone = np.concatenate([np.zeros(8000), 0.3 * np.sin(2 * np.pi * 300 * t)]).astype(np.float32)
    cache = tmp_path / "modelscope"
    for role, name in (("asr", "paraformer-zh"), ("vad", "fsmn-vad"), ("punc", "ct-punc")):
        repo = HUB_NAMES["ms"][name].replace("/", "--")
        shutil.copytree(tiny_models[role], cache / "models" / repo / "snapshots" / "master")
    monkeypatch.setenv("MODELSCOPE_CACHE", str(cache))
    result = Engine(EngineConfig(device="cpu", ncpu=1)).transcribe(tone)
    assert result.models == {"asr": HUB_NAMES["ms"]["paraformer-zh"], "vad": HUB_NAMES["ms"]["fsmn-vad"],
                             "punc": HUB_NAMES["ms"]["ct-punc"], "spk": ""}


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """Empty hub caches, and hub endpoints that would record any connection attempt."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for name, value in (("MODELSCOPE_CACHE", tmp_path / "ms"), ("HF_HUB_CACHE", tmp_path / "hf"),
                        ("MODELSCOPE_ENDPOINT", endpoint), ("HF_ENDPOINT", endpoint)):
        monkeypatch.setenv(name, str(value))
    yield tmp_path
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
    listener.close()
    assert not list(tmp_path.rglob("*speech*")) and not list(tmp_path.rglob("*funasr*"))


@pytest.mark.parametrize("hub", ["ms", "hf"])
def test_it_fails_fast_for_a_hub_name_that_was_never_downloaded(offline_hub, tiny_models, hub):
    config = EngineConfig(model="paraformer-zh", vad_model=str(tiny_models["vad"]), punc_model="", hub=hub)
    with pytest.raises(EngineConfigError) as error:
        Engine(config)
    message = str(error.value)
    assert "ASR_MODEL" in message and "asr_models download" in message and "not downloaded" in message


def test_it_fails_fast_for_a_missing_model_directory(tiny_models, tmp_path):
    config = EngineConfig(model=str(tmp_path / "no-such-model"), vad_model=str(tiny_models["vad"]))
    with pytest.raises(EngineConfigError, match=r"ASR_MODEL is .*no-such-model.*does not exist"):
        Engine(config)


def test_it_fails_fast_for_a_model_directory_without_weights(tiny_models, tmp_path):
    partial = tmp_path / "vad"
    shutil.copytree(tiny_models["vad"], partial, ignore=shutil.ignore_patterns("model.pt"))
    config = EngineConfig(model=str(tiny_models["asr"]), vad_model=str(partial), punc_model="")
    with pytest.raises(EngineConfigError, match=r"ASR_VAD_MODEL .* has no model\.pt"):
        Engine(config)


def test_it_refuses_a_cuda_device_that_is_not_there(engine, tiny_models):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(EngineConfigError, match="ASR_DEVICE"):
        Engine(dataclasses.replace(engine.config, device="cuda:0"))


def test_it_reads_its_configuration_from_settings(asr_settings, tiny_models):
    config = EngineConfig.from_settings()
    assert (config.model, config.device, config.ncpu, config.batch_seconds) == (
        str(tiny_models["asr"]), "cpu", 1, 120)


def test_it_has_the_same_hub_aliases_as_funasr():
    from funasr.download.name_maps_from_hub import name_maps_hf, name_maps_ms

    for alias, repo in HUB_NAMES["ms"].items():
        assert name_maps_ms[alias] == repo
    for alias, repo in HUB_NAMES["hf"].items():
        assert name_maps_hf[alias] == repo



def test_it_keeps_batches_within_the_batch_budget():
    lengths = [5000, 61000, 2000, 7000, 3000, 9000, 2500]
    batches = pipeline.plan_batches(lengths, batch_seconds=20)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or max(lengths[i] for i in batch) * len(batch) <= 20000
    assert [61000] in [[lengths[i] for i in b] for b in batches]  # too long for any batch: alone


def test_it_ends_sentences_at_punctuation_and_at_every_pause():
    first = pipeline.Piece(0, 0, 1500, None, "hello good morning", [[0, 400], [400, 800], [800, 1400]])
    second = pipeline.Piece(0, 4000, 5000, None, "你 好", [[4100, 4500], [4500, 4900]])
    punc_list = ["<unk>", "_", "，", "。", "？", "、"]
    sentences = pipeline.build_sentences([first, second], [2, 1, 1, 1, 3], punc_list)
    assert sentences == [
        {"start": 0, "end": 400, "text": "Hello,", "words": [("hello", 0, 400)]},
        {"start": 400, "end": 1400, "text": "Good morning", "words": [("good", 400, 800), ("morning", 800, 1400)]},
        {"start": 4100, "end": 4900, "text": "你好。", "words": [("你", 4100, 4500), ("好", 4500, 4900)]}]
    # without usable punctuation, one sentence per speech segment, still with its words' times
    unpunctuated = pipeline.build_sentences([first, second], None, None)
    assert [s["text"] for s in unpunctuated] == ["hello good morning", "你好"]
    assert unpunctuated[1]["words"] == [("你", 4100, 4500), ("好", 4500, 4900)]


def test_it_builds_one_engine_per_process_and_rebuilds_when_settings_change(asr_settings):
    first = get_engine()
    assert get_engine() is first
    asr_settings.ASR_BATCH_SECONDS = 30
    assert get_engine() is not first and get_engine().config.batch_seconds == 30
