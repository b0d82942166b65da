"""FunASR engine: the only module that touches torch and funasr, and only once a model is needed.

Importing this module is cheap (torch and funasr are imported inside `Engine()`), so management
commands can resolve and check models without paying funasr's ~10 s import. The engine is built
lazily, once per process (`get_engine()`), never before django-q2 forks its workers.

The pipeline is FunASR's `inference_with_vad` taken apart so it can report progress, honour
cancellation and batch VAD segments across files: VAD per file -> segments sorted by length ->
ASR in padded batches of at most `batch_seconds` -> punctuation per file -> timed sentences.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import pipeline
from .audio import SAMPLE_RATE
from .hub import ModelSource, inspect_all

log = logging.getLogger(__name__)

_OOM = "The GPU ran out of memory; the job will be retried."
# One 25 ms analysis window: a shorter VAD segment makes the fbank frontend raise.
_MIN_SAMPLES = 400


class EngineError(Exception):
    """A transcription failure; str(e) is shown to the user."""

    transient: bool = False


class EngineConfigError(EngineError):
    """The configured models or device cannot be used; retrying will not help."""


class TransientEngineError(EngineError):
    """Worth retrying later (e.g. the GPU ran out of memory)."""

    transient = True


class Cancelled(Exception):
    """Raised at a segment boundary when should_cancel() returned True."""


@dataclass
class SegmentResult:
    index: int
    start: float
    end: float
    text: str
    speaker: str


@dataclass
class TranscriptionResult:
    text: str
    segments: list[SegmentResult]
    audio_seconds: float
    processing_seconds: float
    models: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineConfig:
    model: str = "paraformer-zh"
    vad_model: str = "fsmn-vad"
    punc_model: str = "ct-punc"
    spk_model: str = ""
    device: str = "auto"
    ncpu: int = 1
    batch_seconds: int = 120
    hub: str = "ms"

    @classmethod
    def from_settings(cls) -> EngineConfig:
        from django.conf import settings

        return cls(model=settings.ASR_MODEL, vad_model=settings.ASR_VAD_MODEL, punc_model=settings.ASR_PUNC_MODEL,
                   spk_model=settings.ASR_SPK_MODEL, device=settings.ASR_DEVICE, ncpu=int(settings.ASR_NCPU),
                   batch_seconds=int(settings.ASR_BATCH_SECONDS), hub=settings.ASR_HUB)

    def model_settings(self) -> dict[str, tuple[str, str]]:
        """role -> (setting name, value), for every role, configured or not."""
        return {"asr": ("ASR_MODEL", self.model), "vad": ("ASR_VAD_MODEL", self.vad_model),
                "punc": ("ASR_PUNC_MODEL", self.punc_model), "spk": ("ASR_SPK_MODEL", self.spk_model)}


class _RootFilter(logging.Filter):
    """funasr logs through the root logger itself (logging.info(...)) on every call. A filter on
    the root *logger* sees only those direct calls: records of named loggers propagate to the root
    handlers without passing it. So this mutes funasr's chatter and nothing of ours."""

    level = logging.WARNING

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


_ROOT_FILTER = _RootFilter()


@contextlib.contextmanager
def _quiet(level: int = logging.WARNING) -> Iterator[None]:
    """Mute funasr's root-logger INFO, its print()s and the handler its basicConfig() may add."""
    root = logging.getLogger()
    if _ROOT_FILTER not in root.filters:
        root.addFilter(_ROOT_FILTER)
    handlers, root_level = list(root.handlers), root.level
    captured = io.StringIO()
    _ROOT_FILTER.level = level
    try:
        with contextlib.redirect_stdout(captured):
            yield
    finally:
        _ROOT_FILTER.level = logging.WARNING
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(root_level)
        if captured.getvalue().strip():
            log.debug("funasr output: %s", captured.getvalue().strip())


def _device(requested: str) -> str:
    import torch

    if requested in ("", "auto"):
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise EngineConfigError(f"ASR_DEVICE is {requested!r} but no CUDA device is available; use 'auto' or 'cpu'.")
    return requested


def _mask_batch_padding(model: Any) -> None:
    """Make a batch decode exactly as its items would one at a time (shared/funasr-offline.md).

    FunASR's CIF predictor convolves past the end of each item into the padded encoder frames,
    and its timestamp head runs a BLSTM backwards from the padding, so batching changes the
    output of every item shorter than the longest. Zero the padded frames for the predictor, and
    run the (small) timestamp head per item on that item's own frames.
    """
    import torch

    predictor = model.calc_predictor

    def calc_predictor(encoder_out: Any, encoder_out_lens: Any) -> Any:
        if encoder_out.size(0) > 1:
            frames = torch.arange(encoder_out.size(1), device=encoder_out.device)
            keep = frames[None, :] < encoder_out_lens.to(encoder_out.device)[:, None]
            encoder_out = encoder_out * keep.unsqueeze(-1).to(encoder_out.dtype)
        return predictor(encoder_out, encoder_out_lens)

    model.calc_predictor = calc_predictor
    timestamp_head = getattr(model, "calc_predictor_timestamp", None)
    if timestamp_head is None:
        return

    def calc_predictor_timestamp(encoder_out: Any, encoder_out_lens: Any, token_num: Any) -> Any:
        if encoder_out.size(0) == 1:
            return timestamp_head(encoder_out, encoder_out_lens, token_num)
        parts = [
            timestamp_head(encoder_out[i : i + 1, :n], encoder_out_lens[i : i + 1], token_num[i : i + 1])
            for i, n in enumerate(encoder_out_lens.tolist())
        ]
        # callers index these per item (us_alphas[i][:len]), so lists of per-item tensors will do
        return tuple([part[k][0] for part in parts] for k in range(4))

    model.calc_predictor_timestamp = calc_predictor_timestamp


def _malloc_trim() -> None:
    # Loading leaves ~half the RSS in freed-but-kept heap pages (3.3 -> 1.45 GiB for seaco-large).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Engine:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.sources: dict[str, ModelSource] = inspect_all(config.model_settings(), config.hub)
        for source in self.sources.values():
            if source.problem:
                raise EngineConfigError(source.problem)
        if "vad" not in self.sources:
            raise EngineConfigError("ASR_VAD_MODEL is empty; the engine needs a VAD model (e.g. 'fsmn-vad').")
        self.models = {role: self.sources[role].label if role in self.sources else "" for role in
                       ("asr", "vad", "punc", "spk")}
        self._lock = threading.Lock()
        os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
        started = time.perf_counter()
        with _quiet(logging.ERROR):
            import torch
            from funasr import AutoModel

            self.device = _device(config.device)
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
        _mask_batch_padding(self._am.model)
        _malloc_trim()
        log.info("ASR engine loaded on %s in %.1f s: %s", self.device, time.perf_counter() - started, self.models)

    # -- public API -----------------------------------------------------------------------------

    def transcribe(self, audio: np.ndarray, *, hotwords: Sequence[str] = (),
                   progress: Callable[[float], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> TranscriptionResult:
        """Transcribe 16 kHz mono float32 samples. progress(f) gets the fraction of VAD segments done."""
        return self.transcribe_many([audio], hotwords=hotwords, progress=progress, should_cancel=should_cancel)[0]

    def transcribe_many(self, audios: Sequence[np.ndarray], *, hotwords: Sequence[str] = (),
                        progress: Callable[[float], None] | None = None,
                        should_cancel: Callable[[], bool] | None = None) -> list[TranscriptionResult]:
        """Transcribe several files, batching their VAD segments together.

        processing_seconds is the shared wall time split in proportion to each file's length.
        """
        import torch

        def check() -> None:
            if should_cancel is not None and should_cancel():
                raise Cancelled()

        hotword = " ".join(w.strip() for w in hotwords if w.strip()) or None
        started = time.perf_counter()
        with self._lock, _quiet(), torch.no_grad():
            try:
                results = self._run(audios, hotword, progress, check)
            except torch.OutOfMemoryError:
                torch.cuda.empty_cache()
                raise TransientEngineError(_OOM)
        elapsed = time.perf_counter() - started
        total = sum(len(a) for a in audios) or 1
        for result, audio in zip(results, audios, strict=True):
            result.audio_seconds = len(audio) / SAMPLE_RATE
            result.processing_seconds = elapsed * len(audio) / total
        return results

    def detect_speech(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """The VAD's speech regions in seconds."""
        import torch

        with self._lock, _quiet(), torch.no_grad():
            return [(p.start_ms / 1000, p.end_ms / 1000) for p in self._vad(0, np.asarray(audio, dtype=np.float32))]

    # -- stages ---------------------------------------------------------------------------------

    def _run(self, audios: Sequence[np.ndarray], hotword: str | None, progress: Callable[[float], None] | None,
             check: Callable[[], None]) -> list[TranscriptionResult]:
        pieces: list[pipeline.Piece] = []
        for index, audio in enumerate(audios):
            check()
            pieces.extend(self._vad(index, np.ascontiguousarray(audio, dtype=np.float32)))
        embeddings: dict[int, tuple[list[list[Any]], Any]] = {}
        done = 0
        for batch in pipeline.plan_batches([p.length_ms for p in pieces], self.config.batch_seconds):
            check()
            self._asr([pieces[i] for i in batch], hotword)
            if "spk" in self.sources:
                for i in batch:
                    embeddings[i] = self._speaker_embeddings(pieces[i])
            done += len(batch)
            if progress is not None:
                progress(done / len(pieces))
        if not pieces and progress is not None:
            progress(1.0)
        check()
        by_file: list[list[tuple[int, pipeline.Piece]]] = [[] for _ in audios]
        for i, piece in enumerate(pieces):
            by_file[piece.file].append((i, piece))
        return [self._assemble(indexed, embeddings) for indexed in by_file]

    def _vad(self, index: int, audio: np.ndarray) -> list[pipeline.Piece]:
        if audio.size == 0:
            return []
        out = self._am.inference(audio, model=self._am.vad_model, kwargs=self._am.vad_kwargs)
        pieces = []
        for start_ms, end_ms in out[0]["value"] if out else []:
            # the same slicing as funasr.utils.vad_utils.slice_padding_audio_samples
            begin, end = int(start_ms * 16), min(int(end_ms * 16), len(audio))
            if end - begin >= _MIN_SAMPLES:
                pieces.append(pipeline.Piece(index, int(start_ms), int(end_ms), audio[begin:end]))
        return pieces

    def _asr(self, pieces: list[pipeline.Piece], hotword: str | None) -> None:
        import torch

        kwargs = dict(self._am.kwargs)
        kwargs.pop("hotword", None)
        if hotword:
            kwargs["hotword"] = hotword
        try:
            out = self._am.model.inference(data_in=[p.samples for p in pieces],
                                           key=[f"seg{i}" for i in range(len(pieces))], **kwargs)
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            if len(pieces) == 1:
                raise
            # masked batches decode like single items, so halving changes nothing but memory
            half = len(pieces) // 2
            self._asr(pieces[:half], hotword)
            self._asr(pieces[half:], hotword)
            return
        results = out[0] if out else []
        if not results:  # FunASR returns nothing when no item in the batch has a token
            results = [{"text": "", "timestamp": []} for _ in pieces]
        if len(results) != len(pieces):
            raise EngineError(f"The ASR model returned {len(results)} results for {len(pieces)} segments.")
        for piece, result in zip(pieces, results, strict=True):
            piece.text = pipeline.strip_tags(str(result.get("text", "")))
            stamps = result.get("timestamp")
            piece.timestamps = ([[int(a) + piece.start_ms, int(b) + piece.start_ms] for a, b in stamps]
                                if stamps is not None else None)

    def _speaker_embeddings(self, piece: pipeline.Piece) -> tuple[list[list[Any]], Any]:
        import torch
        from funasr.models.campplus.utils import sv_chunk

        chunks = sv_chunk([[piece.start_ms / 1000, piece.end_ms / 1000, np.asarray(piece.samples)]])
        out = self._am.inference([c[2] for c in chunks], model=self._am.spk_model, kwargs=self._am.spk_kwargs)
        return chunks, torch.cat([r["spk_embedding"] for r in out], dim=0)

    def _punctuate(self, text: str) -> tuple[str, list[int] | None]:
        if "punc" not in self.sources or not text:
            return text, None
        out = self._am.inference(text, model=self._am.punc_model, kwargs=self._am.punc_kwargs)
        punc_ids = out[0].get("punc_array")
        return out[0]["text"], (None if punc_ids is None else [int(x) for x in punc_ids])

    def _assemble(self, indexed: list[tuple[int, pipeline.Piece]],
                  embeddings: dict[int, tuple[list[list[Any]], Any]]) -> TranscriptionResult:
        pieces = [p for _, p in indexed]
        raw = pipeline.join_tokens([p.text for p in pieces if p.text])
        text, punc_ids = self._punctuate(raw)
        punc_list = getattr(self._am.punc_model, "punc_list", None)
        sentences = pipeline.build_sentences(pieces, punc_ids, punc_list) if raw else []
        if sentences and embeddings:
            self._diarize(sentences, [embeddings[i] for i, _ in indexed])
        segments = [
            SegmentResult(index=n, start=s["start"] / 1000, end=s["end"] / 1000, text=s["text"],
                          speaker=s.get("speaker", ""))
            for n, s in enumerate(sentences)
        ]
        return TranscriptionResult(text=text, segments=segments, audio_seconds=0.0, processing_seconds=0.0,
                                   models=dict(self.models))

    def _diarize(self, sentences: list[dict[str, Any]], per_piece: list[tuple[list[list[Any]], Any]]) -> None:
        import torch
        from funasr.models.campplus.utils import distribute_spk, postprocess

        chunks = [c for piece_chunks, _ in per_piece for c in piece_chunks]
        embedding = torch.cat([e for _, e in per_piece], dim=0).cpu()
        labels = self._am.cb_model(embedding, oracle_num=None)
        turns = postprocess(chunks, None, labels, embedding.numpy())
        distribute_spk(sentences, turns)
        for s in sentences:
            s["speaker"] = f"Speaker {int(s.pop('spk')) + 1}"


_engine: Engine | None = None
_engine_pid: int | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process's engine, built from settings on first use (in the worker, after the fork).

    Rebuilt only if the ASR settings change (tests override them) or the process was forked.
    """
    global _engine, _engine_pid
    config = EngineConfig.from_settings()
    with _engine_lock:
        if _engine is None or _engine_pid != os.getpid() or _engine.config != config:
            _engine = None
            _engine = Engine(config)
            _engine_pid = os.getpid()
        return _engine
