"""The fast VAD (ASR_VAD_IMPL=fast) against FunASR's own streaming VAD on the tiny models: the same
speech segments, to the millisecond, on speech and on noise built to hit every rule."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import torch
import yaml
from funasr.utils.load_utils import extract_fbank

from tests.asr_fixtures import noise_bursts
from transcription.asr.audio import decode
from transcription.asr.engine import Engine, EngineConfigError


@pytest.fixture(scope="module")
def funasr_vad(engine: Engine) -> Engine:
    return Engine(dataclasses.replace(engine.config, vad_impl="funasr"))


@pytest.fixture(scope="module")
def scored(engine: Engine, tiny_models) -> tuple[Engine, Engine]:
    """Fast and FunASR VAD over the model whose network (not only the energy gate) decides."""
    config = dataclasses.replace(engine.config, vad_model=str(tiny_models["vad_scored"]), punc_model="")
    return Engine(config), Engine(dataclasses.replace(config, vad_impl="funasr"))


def _audios(speech, speech_variants) -> dict[str, np.ndarray]:
    return {
        "speech": decode(speech[0]), "speech as m4a": decode(speech_variants["m4a"]),
        "bursts over two 60 s chunks": noise_bursts(1, 130), "bursts": noise_bursts(2, 75),
        "a 70 s loud stretch": noise_bursts(3, 100, long_run=70), "one chunk exactly": noise_bursts(4, 60),
        "half a second": noise_bursts(5, 0.5), "25 ms": noise_bursts(6, 0.025), "nothing": np.zeros(0, np.float32),
    }


def test_it_finds_the_same_speech_as_funasrs_vad(engine, funasr_vad, speech, speech_variants):
    assert (engine.vad_impl, funasr_vad.vad_impl) == ("fast", "funasr")
    for name, audio in _audios(speech, speech_variants).items():
        assert engine.prepare(audio).speech_ms == funasr_vad.prepare(audio).speech_ms, name
    long = engine.prepare(noise_bursts(3, 100, long_run=70)).speech_ms
    assert any(end - start == 60010 for start, end in long)  # cut at the 60 s segment limit


def test_it_follows_the_network_as_funasrs_vad_does(scored, engine, speech, speech_variants):
    fast, reference = scored
    for name, audio in _audios(speech, speech_variants).items():
        assert fast.prepare(audio).speech_ms == reference.prepare(audio).speech_ms, name
    # the network moves the boundaries the energy gate alone would draw
    audio = decode(speech[0])
    assert fast.prepare(audio).speech_ms != engine.prepare(audio).speech_ms


def test_it_scores_frames_as_funasrs_network_does(scored, speech):
    fast = scored[0]._fast_vad
    audio = decode(speech[0])
    model, kwargs = scored[1]._am.vad_model, scored[1]._am.vad_kwargs
    feats, _ = extract_fbank([torch.from_numpy(audio)], frontend=kwargs["frontend"], cache={}, is_final=True)
    with torch.inference_mode():
        reference = model.encoder(feats, cache={})[0, :, 0].numpy()
    mine = fast.network.silence_scores(audio)
    assert mine.shape == reference.shape and 0.02 < float((reference <= 0.25).mean()) < 0.98
    assert np.abs(mine - reference).max() < 1e-5


def test_it_falls_back_to_funasrs_vad_for_a_configuration_it_does_not_implement(engine, tiny_models, tmp_path):
    single = tmp_path / "vad"
    shutil.copytree(tiny_models["vad"], single)
    config = yaml.safe_load((single / "config.yaml").read_text())
    config["model_conf"]["detect_mode"] = 0  # single-utterance mode
    (single / "config.yaml").write_text(yaml.safe_dump(config))
    fallback = Engine(dataclasses.replace(engine.config, vad_model=str(single)))
    assert fallback.vad_impl == "funasr" and fallback._fast_vad is None


def test_it_rejects_an_unknown_vad_implementation(engine):
    with pytest.raises(EngineConfigError, match="ASR_VAD_IMPL"):
        Engine(dataclasses.replace(engine.config, vad_impl="webrtc"))


def test_it_scores_a_long_file_in_spans_on_threads_as_in_one_pass(scored):
    fast, reference = scored
    audio = noise_bursts(1, 130)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        whole = fast._fast_vad.network.silence_scores(audio)
        torch.set_num_threads(3)  # three spans, each starting early with empty FSMN memory
        spans = fast._fast_vad.network.silence_scores(audio)
        assert torch.get_num_threads() == 3
        assert fast.prepare(audio).speech_ms == reference.prepare(audio).speech_ms
    finally:
        torch.set_num_threads(threads)
    assert np.abs(spans - whole).max() < 1e-5


@pytest.fixture(scope="module")
def real_vad(engine: Engine, real_vad_dir) -> tuple[Engine, Engine]:
    """Fast and FunASR VAD over FunASR's real fsmn-vad weights."""
    config = dataclasses.replace(engine.config, vad_model=str(real_vad_dir), punc_model="")
    return Engine(config), Engine(dataclasses.replace(config, vad_impl="funasr"))


def test_it_finds_the_same_speech_as_funasrs_vad_with_the_real_weights_on_real_speech(real_vad, real_speech):
    fast, reference = real_vad
    assert (fast.vad_impl, reference.vad_impl) == ("fast", "funasr")
    clips = sorted(real_speech.glob("*.wav"))
    assert len(clips) >= 6
    found = {}
    for clip in clips:
        audio = decode(clip)
        found[clip.name] = fast.prepare(audio).speech_ms
        assert found[clip.name] == reference.prepare(audio).speech_ms, clip.name
    # real speech, real weights: each short clip is one utterance, the 70 s one several with pauses
    assert all(len(found[c.name]) == 1 for c in clips if "70s" not in c.name)
    assert len(found["vad-example-zh-70s.wav"]) >= 5


def test_it_finds_the_same_speech_as_funasrs_vad_with_the_real_weights_on_the_benchmark_bank(real_vad):
    from bench.audio import BANK_CLIPS, bank_clip

    fast, reference = real_vad
    for zh in (True, False):
        for k in range(BANK_CLIPS):
            audio = bank_clip(zh, k).copy()  # writable, as a decoded upload is
            assert fast.prepare(audio).speech_ms == reference.prepare(audio).speech_ms, (zh, k)
    audio = noise_bursts(1, 130)  # and past the 60 s chunk, where the end-silence schedule moves
    assert fast.prepare(audio).speech_ms == reference.prepare(audio).speech_ms
