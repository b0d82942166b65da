"""Whisper presets: faster-whisper (CTranslate2) decoding the portal's own VAD segments.

A preset names `whisper:NAME` (a faster-whisper hub name, resolved by `hub.py`) or
`whisper:/a/CTranslate2/folder`. Stage 1 is the same as Paraformer's (`stages.SpeechStages`: the
FSMN-VAD, fast or FunASR's); stage 2 joins the VAD segments into clips of at most 30 s (Whisper's
window; a longer segment is split evenly) and decodes each file's clips in batches with
faster-whisper's `BatchedInferencePipeline`, with word timestamps. The language is the preset's
(`lang=`), or detected per file when the preset says `lang=auto`; `task=translate` writes English.
Hotwords go to faster-whisper's `hotwords` prompt; speakers come from the CAM++ model on the VAD
segments, as for Paraformer. Chinese comes out in Simplified characters (OpenCC t2s; Whisper often
writes Traditional); exports convert either way.

torch, funasr and faster_whisper are imported inside `WhisperEngine()` only.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from transcription.text import to_simplified

from . import speakers
from .config import EngineConfig, device_for
from .quiet import quiet
from .results import (
    Cancelled,
    EngineConfigError,
    EngineError,
    Prepared,
    SegmentResult,
    TranscriptionResult,
    TransientEngineError,
)
from .stages import SpeechStages, speaker_count

log = logging.getLogger(__name__)

CLIP_MS = 30_000  # Whisper's input window
_COMPUTE = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def plan_clips(speech_ms: Sequence[tuple[int, int]], max_ms: int = CLIP_MS) -> list[tuple[int, int]]:
    """VAD segments joined, in order, into clips of at most `max_ms` (the pauses between them kept,
    so Whisper's times stay the file's); a segment longer than that is split into equal parts."""
    clips: list[tuple[int, int]] = []
    for start, end in speech_ms:
        parts = math.ceil((end - start) / max_ms) or 1
        step = (end - start) / parts
        for k in range(parts):
            a, b = start + round(k * step), start + round((k + 1) * step)
            if clips and b - clips[-1][0] <= max_ms:
                clips[-1] = (clips[-1][0], b)
            else:
                clips.append((a, b))
    return clips


class WhisperEngine(SpeechStages):
    def __init__(self, config: EngineConfig) -> None:
        self._resolve(config)
        started = time.perf_counter()
        with quiet(logging.ERROR):
            from faster_whisper import BatchedInferencePipeline, WhisperModel
            from funasr import AutoModel

            self.device = device_for(config.device)
            vad = str(self.sources["vad"].path)
            # the VAD (and CAM++) through FunASR, exactly as the Paraformer engine loads them
            kwargs: dict[str, Any] = {"model": vad, "vad_model": vad, "device": self.device, "hub": config.hub,
                                      "ncpu": max(1, config.ncpu), "disable_update": True, "disable_pbar": True,
                                      "disable_log": True, "log_level": "ERROR"}
            if "spk" in self.sources:
                kwargs["spk_model"] = str(self.sources["spk"].path)
            cuda = self.device.startswith("cuda")
            self.dtype = config.dtype if cuda and config.dtype in _COMPUTE else "fp32"
            try:
                self._am = AutoModel(**kwargs)
                model = WhisperModel(str(self.sources["asr"].path), device="cuda" if cuda else "cpu",
                                     device_index=int(self.device.partition(":")[2] or 0),
                                     compute_type=_COMPUTE[self.dtype], cpu_threads=max(1, config.ncpu))
            except Exception as e:
                raise EngineConfigError(f"The Whisper preset's models could not be loaded ({type(e).__name__}: {e}). "
                                        "Run `manage.py asr_models check` to see which setting is wrong.") from e
            self._pipeline = BatchedInferencePipeline(model)
        self._fast_vad = self._load_fast_vad()
        log.info("Whisper engine loaded on %s in %.1f s: %s", self.device, time.perf_counter() - started, self.models)

    @property
    def batch_size(self) -> int:
        """Clips per decoder batch: ASR_BATCH_SECONDS of 30 s windows."""
        return max(1, self.config.batch_seconds // (CLIP_MS // 1000))

    def recognize(self, prepared: Sequence[Prepared], *, hotwords: Sequence[str] = (), speakers: str = "auto",
                  progress: Callable[[int, float], None] | None = None,
                  cancelled: Callable[[int], bool] | None = None) -> list[TranscriptionResult | Cancelled]:
        """Each file's clips in batches, file after file; `cancelled(i)` is polled between batches."""
        hotword = " ".join(w.strip() for w in hotwords if w.strip()) or None
        report, stop = progress or (lambda i, f: None), cancelled or (lambda i: False)
        out: list[TranscriptionResult | Cancelled] = []
        with self._lock, quiet():
            for i, item in enumerate(prepared):
                started = time.perf_counter()
                try:
                    result = self._file(i, item, hotword, speakers, report, stop)
                except RuntimeError as e:
                    if "out of memory" in str(e).lower():
                        raise TransientEngineError("The GPU ran out of memory; the job will be retried.") from e
                    raise EngineError(f"Whisper failed: {e}") from e
                if isinstance(result, TranscriptionResult):
                    result.audio_seconds = item.audio_seconds
                    result.end_within(item.audio_seconds)
                    result.processing_seconds = time.perf_counter() - started + item.prepare_seconds
                out.append(result)
        return out

    def _file(self, i: int, item: Prepared, hotword: str | None, who: str, progress: Callable[[int, float], None],
              cancelled: Callable[[int], bool]) -> TranscriptionResult | Cancelled:
        if cancelled(i):
            return Cancelled()
        clips = plan_clips(item.speech_ms)
        language = self.config.language
        sentences: list[dict[str, Any]] = []
        if clips:
            found, info = self._pipeline.transcribe(
                item.samples, language=language or None, task=self.config.task, vad_filter=False,
                clip_timestamps=[{"start": a / 1000, "end": b / 1000} for a, b in clips], word_timestamps=True,
                batch_size=self.batch_size, hotwords=hotword, beam_size=5)
            language = "en" if self.config.task == "translate" else info.language
            for segment in found:  # a generator: each batch of clips is decoded when reached
                text = segment.text.strip()
                if text:
                    words = [(w.word.strip(), float(w.start), float(w.end)) for w in segment.words or []
                             if w.word.strip()]
                    sentences.append({"start": round(segment.start * 1000), "end": round(segment.end * 1000),
                                      "text": text, "words": words})
                progress(i, min(1.0, segment.end * 1000 / clips[-1][1]))
                if cancelled(i):
                    return Cancelled()
        progress(i, 1.0)
        if language in ("zh", "yue"):
            for s in sentences:
                s["text"] = to_simplified(s["text"])
                s["words"] = [(to_simplified(w), a, b) for w, a, b in s["words"]]
        found_speakers = self._speakers(i, item, sentences, who)
        segments = [SegmentResult(index=n, start=s["start"] / 1000, end=s["end"] / 1000, text=s["text"],
                                  speaker=s.get("speaker", ""), words=s["words"]) for n, s in enumerate(sentences)]
        text = ("" if language in ("zh", "yue", "ja") else " ").join(s.text for s in segments)
        return TranscriptionResult(text=text, segments=segments, audio_seconds=0.0, processing_seconds=0.0,
                                   models=dict(self.models), language=language, preset=self.config.preset,
                                   speaker_vectors=found_speakers)

    def _speakers(self, i: int, item: Prepared, sentences: list[dict[str, Any]], who: str) -> Any:
        if "spk" not in self.sources or who == "off":
            return None
        import torch

        with torch.inference_mode():
            found = speakers.vectors([speakers.embed(self._am, piece) for piece in self.pieces(i, item)])
            if sentences:
                speakers.label(sentences, found, count=speaker_count(who), am=self._am)
        return found
