"""FunASR engine: the only entry point to torch and funasr, imported once a model is needed.

Importing this module is cheap (torch and funasr are imported inside `Engine()` and the stage
modules), so management commands can resolve and check models without paying funasr's ~10 s
import. The engine is built lazily, once per process (`get_engine()`), never before django-q2
forks its workers.

The pipeline is FunASR's `inference_with_vad` taken apart so it can report progress, honour
cancellation and batch across files. Two stages, so a worker can overlap them on two threads:

- `Engine.prepare(audio) -> Prepared`: the CPU stage of one file (VAD). It never takes the ASR
  lock, so it may run on a second thread while another thread is inside `recognize`.
- `Engine.recognize(prepared, *, hotwords=(), progress=None, cancelled=None)
  -> list[TranscriptionResult | Cancelled]`: the pieces of all files sorted by length and
  decoded in padded batches of at most `batch_seconds` (padding masked, so every file decodes
  as it would alone), speaker embeddings if configured, punctuation, timed sentences.
  `progress(i, fraction)` reports file i; `cancelled(i)` is polled for every unfinished file at
  every batch boundary, and a file cancelled there is dropped from the later batches and gets a
  `Cancelled` instance in its slot while the others carry on.
- `Engine.recognize_detailed(...)` is `recognize` with each file's token timestamps (`Detailed`).

`transcribe(audio)` and `transcribe_many(audios)` are the two stages back to back.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from . import paraformer, pipeline, punctuation, speakers
from .audio import SAMPLE_RATE, decode
from .config import EngineConfig, device_for
from .quiet import quiet
from .results import (
    Cancelled,
    Detailed,
    EngineConfigError,
    EngineError,
    Prepared,
    SegmentResult,
    TranscriptionResult,
    TransientEngineError,
)
from .speakers import embed as speakers_embed
from .stages import SpeechStages, speaker_count
from .whisper import WhisperEngine

log = logging.getLogger(__name__)

_OOM = "The GPU ran out of memory; the job will be retried."
__all__ = ["Cancelled", "Detailed", "Engine", "EngineConfig", "EngineConfigError", "EngineError", "Prepared",
           "SegmentResult", "TranscriptionResult", "TransientEngineError", "WhisperEngine", "build_engine",
           "get_engine", "transcribe_path_to_dict"]


def _malloc_trim() -> None:
    # Loading leaves ~half the RSS in freed-but-kept heap pages (3.3 -> 1.45 GiB for seaco-large).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@dataclass
class _File:
    """One file inside a recognize() call."""

    pieces: list[pipeline.Piece]
    done: int = 0
    cancelled: bool = False
    embeddings: dict[int, speakers.Embeddings] = field(default_factory=dict)


class Engine(SpeechStages):
    def __init__(self, config: EngineConfig) -> None:
        self._resolve(config)
        os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
        started = time.perf_counter()
        with quiet(logging.ERROR):
            import torch
            from funasr import AutoModel

            self.device = device_for(config.device)
            kwargs: dict[str, Any] = {
                "model": str(self.sources["asr"].path), "device": self.device, "ncpu": max(1, config.ncpu),
                "hub": config.hub, "disable_update": True, "disable_pbar": True, "disable_log": True,
                "log_level": "ERROR", "vad_model": str(self.sources["vad"].path),
            }
            for role in ("punc", "spk"):
                if role in self.sources:
                    kwargs[f"{role}_model"] = str(self.sources[role].path)
            try:
                self._am = AutoModel(**kwargs)
            except torch.OutOfMemoryError:
                raise TransientEngineError("The GPU ran out of memory while loading the ASR models.")
            except Exception as e:
                raise EngineConfigError(
                    f"The ASR models could not be loaded ({type(e).__name__}: {e}). "
                    "Run `manage.py asr_models check` to see which setting is wrong."
                ) from e
        for role, kw in (("asr", self._am.kwargs), ("vad", self._am.vad_kwargs),
                         ("punc", self._am.punc_kwargs), ("spk", self._am.spk_kwargs)):
            if role in self.sources and not Path(str(kw.get("init_param", ""))).is_file():
                # FunASR would silently run randomly initialised weights
                raise EngineConfigError(f"{self.sources[role].setting}: FunASR found no weights file in "
                                        f"{self.sources[role].path}; it needs config.yaml and model.pt.")
        paraformer.mask_batch_padding(self._am.model)
        paraformer.skip_full_masks(self._am.model)
        paraformer.timestamp_loops_in_numpy(self._am.model)
        if self.device == "cpu":  # a GPU wants its batches whole
            paraformer.encode_long_alone(self._am.model)
        self.dtype = self._dtype()
        self._fast_vad = self._load_fast_vad()
        if self.device.startswith("cuda"):
            self._warm_up()
        _malloc_trim()
        log.info("ASR engine loaded on %s in %.1f s: %s", self.device, time.perf_counter() - started, self.models)

    def _dtype(self) -> str:
        if self.config.dtype not in paraformer.DTYPES:
            raise EngineConfigError(f"ASR_DTYPE is {self.config.dtype!r}; use one of {', '.join(paraformer.DTYPES)}.")
        if self.config.dtype != "fp32" and not self.device.startswith("cuda"):
            log.warning("ASR_DTYPE=%s needs a CUDA device; running fp32 on %s.", self.config.dtype, self.device)
            return "fp32"
        return self.config.dtype

    def _warm_up(self) -> None:
        """One short decode, so the first job does not pay for CUDA kernel loading and tuning."""
        import torch

        noise = np.random.default_rng(0).normal(0, 0.1, 2 * SAMPLE_RATE).astype(np.float32)
        with self._lock, quiet(), torch.inference_mode():
            paraformer.decode(self._am, [pipeline.Piece(0, 0, 2000, noise)], None, self.dtype)
            self._speech_ms(noise)

    # -- stage 2: the models, one call at a time ------------------------------------------------

    def recognize(self, prepared: Sequence[Prepared], *, hotwords: Sequence[str] = (), speakers: str = "auto",
                  progress: Callable[[int, float], None] | None = None,
                  cancelled: Callable[[int], bool] | None = None) -> list[TranscriptionResult | Cancelled]:
        """Transcribe prepared files together; see the module docstring.

        processing_seconds is this call's wall time split in proportion to each file's length,
        plus that file's own prepare time. ``speakers``: "off", "auto" or "2".."10"; speakers are
        only labelled when a speaker model is configured.
        """
        return [d.result if isinstance(d, Detailed) else d
                for d in self.recognize_detailed(prepared, hotwords=hotwords, speakers=speakers, progress=progress,
                                                 cancelled=cancelled)]

    def recognize_detailed(self, prepared: Sequence[Prepared], *, hotwords: Sequence[str] = (),
                           speakers: str = "auto", progress: Callable[[int, float], None] | None = None,
                           cancelled: Callable[[int], bool] | None = None) -> list[Detailed | Cancelled]:
        """`recognize`, with each file's token timestamps beside its result."""
        import torch

        hotword = " ".join(w.strip() for w in hotwords if w.strip()) or None
        started = time.perf_counter()
        with self._lock, quiet(), torch.inference_mode():
            try:
                results = self._recognize(prepared, hotword, speakers, progress or (lambda i, f: None),
                                          cancelled or (lambda i: False))
            except torch.OutOfMemoryError:
                torch.cuda.empty_cache()
                raise TransientEngineError(_OOM)
            except paraformer.BatchSizeError as e:
                raise EngineError(str(e))
        elapsed = time.perf_counter() - started
        total = sum(len(p.samples) for p in prepared) or 1
        for detailed, item in zip(results, prepared, strict=True):
            if isinstance(detailed, Detailed):
                detailed.result.audio_seconds = item.audio_seconds
                detailed.result.end_within(item.audio_seconds)
                detailed.result.processing_seconds = elapsed * len(item.samples) / total + item.prepare_seconds
        return results

    def _recognize(self, prepared: Sequence[Prepared], hotword: str | None, speakers: str,
                   progress: Callable[[int, float], None],
                   cancelled: Callable[[int], bool]) -> list[Detailed | Cancelled]:
        files = [_File(self.pieces(i, item)) for i, item in enumerate(prepared)]
        diarize = "spk" in self.sources and speakers != "off"
        pieces = [p for f in files for p in f.pieces]

        def poll() -> None:
            for i, f in enumerate(files):
                if not f.cancelled and cancelled(i):
                    f.cancelled = True

        for batch in pipeline.plan_batches([p.length_ms for p in pieces], self.config.batch_seconds):
            poll()
            todo = [pieces[i] for i in batch if not files[pieces[i].file].cancelled]
            if not todo:
                continue
            paraformer.decode(self._am, todo, hotword, self.dtype)
            for piece in todo:
                f = files[piece.file]
                f.done += 1
                if diarize:
                    f.embeddings[id(piece)] = speakers_embed(self._am, piece)
            for i in dict.fromkeys(p.file for p in todo):
                progress(i, files[i].done / len(files[i].pieces))
        poll()
        for i, f in enumerate(files):
            if not f.pieces and not f.cancelled:
                progress(i, 1.0)
        live = [f for f in files if not f.cancelled]
        raws = [pipeline.join_tokens([p.text for p in f.pieces if p.text]) for f in live]
        punctuated = iter(self._punctuate(raws))
        count = speaker_count(speakers)
        return [Cancelled() if f.cancelled else self._assemble(f, *next(punctuated), diarize=diarize, count=count)
                for f in files]

    def _punctuate(self, raws: list[str]) -> list[tuple[str, str, list[int] | None]]:
        """(raw text, punctuated text, punctuation ids) per file, all files in one batch."""
        if "punc" not in self.sources:
            return [(raw, raw, None) for raw in raws]
        marked = punctuation.punctuate_many(self._am.punc_model, self._am.punc_kwargs, raws)
        return [(raw, text, ids) for raw, (text, ids) in zip(raws, marked, strict=True)]

    def _assemble(self, f: _File, raw: str, text: str, punc_ids: list[int] | None, *, diarize: bool,
                  count: int | None) -> Detailed:
        punc_list = getattr(self._am.punc_model, "punc_list", None)
        sentences = pipeline.build_sentences(f.pieces, punc_ids, punc_list) if raw else []
        found = speakers.vectors([f.embeddings[id(p)] for p in f.pieces]) if diarize else None
        if sentences and found is not None:
            speakers.label(sentences, found, count=count, am=self._am)
        segments = [
            SegmentResult(index=n, start=s["start"] / 1000, end=s["end"] / 1000, text=s["text"],
                          speaker=s.get("speaker", ""),
                          words=[(w, a / 1000, b / 1000) for w, a, b in s.get("words", [])])
            for n, s in enumerate(sentences)
        ]
        result = TranscriptionResult(text=text, segments=segments, audio_seconds=0.0, processing_seconds=0.0,
                                     models=dict(self.models), language=self.config.language,
                                     preset=self.config.preset, speaker_vectors=found)
        return Detailed(result, [stamp for p in f.pieces for stamp in p.timestamps or []])

def build_engine(config: EngineConfig) -> Engine | WhisperEngine:
    """The engine of the config's model family (Paraformer and kin through FunASR, or Whisper)."""
    return WhisperEngine(config) if config.family == "whisper" else Engine(config)


_engines: OrderedDict[EngineConfig, Engine | WhisperEngine] = OrderedDict()  # least recently used first
_engine_pid: int | None = None
_engine_lock = threading.Lock()


def get_engine(preset: str | None = None) -> Engine | WhisperEngine:
    """The process's engine for a model preset (blank: the default), built from settings on first
    use (in the worker, after the fork).

    At most ASR_MAX_ENGINES engines stay loaded; loading another unloads the least recently used.
    Rebuilt when the ASR settings change (tests override them) or the process was forked.
    """
    global _engine_pid
    config = EngineConfig.from_settings(preset)
    with _engine_lock:
        if _engine_pid != os.getpid():
            _engines.clear()
            _engine_pid = os.getpid()
        engine = _engines.get(config)
        if engine is not None:
            _engines.move_to_end(config)
            return engine
        keep = max(1, int(getattr(settings, "ASR_MAX_ENGINES", 2))) - 1
        while len(_engines) > keep:
            _, unloaded = _engines.popitem(last=False)
            log.info("ASR engine for preset %r unloaded (ASR_MAX_ENGINES=%d)", unloaded.config.preset, keep + 1)
            del unloaded
            _release_memory()
        engine = build_engine(config)
        _engines[config] = engine
        return engine


def loaded_presets() -> list[str]:
    """The presets whose engines this process holds, least recently used first."""
    with _engine_lock:
        return [config.preset for config in _engines] if _engine_pid == os.getpid() else []


def _release_memory() -> None:
    gc.collect()
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    _malloc_trim()


def transcribe_path_to_dict(path: str | os.PathLike, hotwords: Sequence[str] = ()) -> dict[str, Any]:
    """Decode and transcribe one file in this process's engine; a plain dict (a django-q2 task)."""
    result = get_engine().transcribe(decode(path), hotwords=hotwords)
    result.speaker_vectors = None
    return {**asdict(result), "pid": os.getpid()}
