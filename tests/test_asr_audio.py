"""Probing and decoding uploads with PyAV: every format gives the same audio; unusable files get a clear message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.asr_fixtures import write_media
from transcription.asr.audio import SAMPLE_RATE, MediaError, decode, probe

MESSAGES = {
    "not media": "not an audio or video file",
    "truncated": "damaged or incomplete",
    "zero bytes": "empty",
    "no audio track": "no audio track",
    "zero seconds": "0 seconds long",
}


def test_it_decodes_every_format_to_the_same_duration(speech, speech_variants, more_formats):
    reference = decode(speech[0])
    assert reference.dtype == np.float32 and reference.ndim == 1
    for name, path in {**speech_variants, **more_formats}.items():
        audio = decode(path)
        assert audio.dtype == np.float32 and audio.ndim == 1, name
        assert abs(len(audio) - len(reference)) / SAMPLE_RATE < 0.1, name
        assert abs(probe(path).duration - len(reference) / SAMPLE_RATE) < 0.1, name


def test_it_describes_what_it_probed(speech, speech_variants):
    wav = probe(speech[0])
    assert (wav.codec, wav.container, wav.has_video, wav.sample_rate, wav.channels) == (
        "pcm_s16le", "wav", False, 16000, 1)
    stereo = probe(speech_variants["wav44k-stereo"])
    assert (stereo.sample_rate, stereo.channels) == (44100, 2)
    video = probe(speech_variants["mp4-video"])
    assert video.has_video and video.codec == "aac" and "mp4" in video.container
    assert not probe(speech_variants["m4a"]).has_video


@pytest.mark.parametrize("kind", sorted(MESSAGES))
def test_it_rejects_unusable_files_with_a_clear_message(bad_inputs, kind):
    with pytest.raises(MediaError, match=MESSAGES[kind]):
        probe(bad_inputs[kind])
    with pytest.raises(MediaError, match=MESSAGES[kind]):
        decode(bad_inputs[kind])


def test_it_rejects_a_wav_whose_data_was_cut_off(speech, tmp_path: Path):
    cut = tmp_path / "cut.wav"
    cut.write_bytes(speech[0].read_bytes()[:50000])
    with pytest.raises(MediaError, match="damaged or incomplete"):
        probe(cut)


def test_it_mixes_loud_stereo_down_without_distortion(tmp_path: Path):
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.9 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = write_media(tmp_path / "loud.flac", tone, "flac", stereo=True)
    audio = decode(path)
    assert np.abs(audio).max() == pytest.approx(0.9, abs=0.01)
    assert np.allclose(audio, tone, atol=1e-3)


def test_it_resamples_to_16k(speech, speech_variants):
    original = decode(speech[0])
    resampled = decode(speech_variants["wav44k-stereo"])
    n = min(len(original), len(resampled))
    # 16k -> 44.1k -> 16k is close to lossless for speech-band audio
    assert np.corrcoef(original[:n], resampled[:n])[0, 1] > 0.99
