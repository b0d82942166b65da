"""What every engine family shares: stage 1 (the portal's VAD, `prepare`) and the two stages back to
back (`transcribe`, `transcribe_many`). Paraformer (`engine.Engine`) and Whisper
(`whisper.WhisperEngine`) both cut a file at the same FSMN-VAD segments; only stage 2 differs.

torch is imported inside the methods: importing this module stays cheap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import pipeline
from .audio import SAMPLE_RATE
from .config import VAD_IMPLS, EngineConfig
from .hub import ModelSource, inspect_all, problems_of
from .quiet import quiet
from .results import Cancelled, EngineConfigError, Prepared, TranscriptionResult
from .vad import FastVad

log = logging.getLogger(__name__)

# One 25 ms analysis window: a shorter VAD segment makes the fbank frontend raise.
MIN_SAMPLES = 400
MS = SAMPLE_RATE // 1000


def speaker_count(speakers: str) -> int | None:
    """"auto" -> None (the clustering decides), "2".."10" -> that number."""
    return int(speakers) if speakers.isdigit() else None


class SpeechStages:
    """Stage 1 for an engine whose FunASR AutoModel `_am` holds the VAD (`vad_model`, `vad_kwargs`)."""

    config: EngineConfig
    device: str
    _am: Any
    _fast_vad: FastVad | None

    def _resolve(self, config: EngineConfig) -> None:
        """Every model of the config found on disk, or EngineConfigError naming every one that is not."""
        self.config = config
        self.sources: dict[str, ModelSource] = inspect_all(config.model_settings(), config.hub)
        if problems := problems_of(config.model_settings(), self.sources):
            raise EngineConfigError("\n".join(problem.full() for problem in problems))
        self.models = {role: self.sources[role].label if role in self.sources else "" for role in
                       ("asr", "vad", "punc", "spk")}
        self._lock = threading.Lock()  # the ASR stage (recognize)
        self._vad_lock = threading.Lock()  # FunASR's VAD keeps per-call state on its model object

    def recognize(self, prepared: Sequence[Prepared], *, hotwords: Sequence[str] = (), speakers: str = "auto",
                  progress: Callable[[int, float], None] | None = None,
                  cancelled: Callable[[int], bool] | None = None) -> list[TranscriptionResult | Cancelled]:
        raise NotImplementedError

    def _load_fast_vad(self) -> FastVad | None:
        if self.config.vad_impl not in VAD_IMPLS:
            raise EngineConfigError(f"ASR_VAD_IMPL is {self.config.vad_impl!r}; use one of {', '.join(VAD_IMPLS)}.")
        if self.config.vad_impl != "fast":
            return None
        fast = FastVad(self._am.vad_model, self._am.vad_kwargs, self.device)
        if fast.unsupported():
            log.warning("ASR_VAD_IMPL=fast does not implement this VAD model's %s; using FunASR's VAD.",
                        fast.unsupported())
            return None
        return fast

    @property
    def vad_impl(self) -> str:
        """The VAD implementation in use ("fast" unless configured or forced back to "funasr")."""
        return "fast" if self._fast_vad is not None else "funasr"

    # -- stage 1: CPU, any thread ---------------------------------------------------------------

    def prepare(self, audio: np.ndarray) -> Prepared:
        """VAD one file of 16 kHz mono float32 samples. Safe beside a running `recognize`."""
        started = time.perf_counter()
        samples = np.ascontiguousarray(audio, dtype=np.float32)
        speech = self._speech_ms(samples)
        return Prepared(samples, tuple(speech), time.perf_counter() - started)

    def detect_speech(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """The VAD's speech regions in seconds."""
        return [(start / 1000, end / 1000) for start, end in self.prepare(audio).speech_ms]

    def _speech_ms(self, samples: np.ndarray) -> list[tuple[int, int]]:
        import torch

        if len(samples) < MIN_SAMPLES:  # no complete frame; FunASR's VAD would divide by zero
            return []
        if self._fast_vad is not None:
            return self._fast_vad(samples)
        with self._vad_lock, quiet(), torch.inference_mode():
            out = self._am.inference(samples, model=self._am.vad_model, kwargs=self._am.vad_kwargs)
        return [(int(start), int(end)) for start, end in (out[0]["value"] if out else [])]

    @staticmethod
    def pieces(index: int, item: Prepared) -> list[pipeline.Piece]:
        """A prepared file's VAD segments as pieces of audio."""
        pieces = []
        for start_ms, end_ms in item.speech_ms:
            # the same slicing as funasr.utils.vad_utils.slice_padding_audio_samples
            begin, end = start_ms * MS, min(end_ms * MS, len(item.samples))
            if end - begin >= MIN_SAMPLES:
                pieces.append(pipeline.Piece(index, start_ms, end_ms, item.samples[begin:end]))
        return pieces

    # -- both stages ----------------------------------------------------------------------------

    def transcribe(self, audio: np.ndarray, *, hotwords: Sequence[str] = (),
                   progress: Callable[[float], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> TranscriptionResult:
        """Transcribe 16 kHz mono float32 samples. progress(f) gets the fraction of VAD segments done."""
        return self.transcribe_many([audio], hotwords=hotwords, progress=progress, should_cancel=should_cancel)[0]

    def transcribe_many(self, audios: Sequence[np.ndarray], *, hotwords: Sequence[str] = (),
                        progress: Callable[[float], None] | None = None,
                        should_cancel: Callable[[], bool] | None = None) -> list[TranscriptionResult]:
        """Transcribe several files in one `recognize` call; raises Cancelled when should_cancel()."""
        prepared = []
        for audio in audios:
            if should_cancel is not None and should_cancel():
                raise Cancelled()
            prepared.append(self.prepare(audio))
        weights = [max(1, len(p.speech_ms)) for p in prepared]
        fractions = [0.0] * len(prepared)
        reported = [-1.0]

        def file_progress(i: int, fraction: float) -> None:
            fractions[i] = fraction
            overall = sum(w * f for w, f in zip(weights, fractions, strict=True)) / sum(weights)
            if progress is not None and overall > reported[0]:
                reported[0] = overall
                progress(overall)

        results = self.recognize(prepared, hotwords=hotwords, progress=file_progress,
                                 cancelled=None if should_cancel is None else lambda i: should_cancel())
        done = [r for r in results if isinstance(r, TranscriptionResult)]
        if len(done) != len(results):
            raise Cancelled()
        return done
