"""What the engine hands back: results, prepared files, and the errors users see.

Plain data, no torch: the web side imports these (e.g. to store a TranscriptionResult).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from portal.inputs import text_clean

from .audio import SAMPLE_RATE


class EngineError(Exception):
    """A transcription failure; str(e) is shown to the user."""

    transient: bool = False


class EngineConfigError(EngineError):
    """The configured models or device cannot be used; retrying will not help."""


class TransientEngineError(EngineError):
    """Worth retrying later (e.g. the GPU ran out of memory)."""

    transient = True


class Cancelled(Exception):
    """A file whose cancel was requested: raised by transcribe(), returned in its slot by recognize()."""


@dataclass
class SegmentResult:
    index: int
    start: float
    end: float
    text: str
    speaker: str
    # (token text, start s, end s) per Chinese character or English word, where the model gave times
    words: list[tuple[str, float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The model's text is stored, searched and exported (docx is XML): what a person could not
        # type there (NUL, other control characters) is taken out rather than refused.
        self.text = text_clean(self.text)
        self.speaker = text_clean(self.speaker)
        self.words = [(text_clean(w), a, b) for w, a, b in self.words]


@dataclass
class SpeakerVectors:
    """The speaker model's output for one file: one embedding per chunk of speech."""

    chunks: list[tuple[float, float]]  # (start s, end s) of each chunk
    vectors: np.ndarray  # float32, len(chunks) x dim

    def to_bytes(self) -> bytes:
        return np.ascontiguousarray(self.vectors, dtype="<f4").tobytes()

    @classmethod
    def from_bytes(cls, chunks: list, dim: int, data: bytes) -> SpeakerVectors:
        vectors = np.frombuffer(bytes(data), dtype="<f4").reshape(len(chunks), dim) if dim else \
            np.zeros((len(chunks), 0), dtype=np.float32)
        return cls([(float(a), float(b)) for a, b in chunks], vectors.astype(np.float32))


@dataclass
class TranscriptionResult:
    text: str
    segments: list[SegmentResult]
    audio_seconds: float
    processing_seconds: float
    models: dict[str, str] = field(default_factory=dict)
    language: str = ""
    preset: str = ""
    speaker_vectors: SpeakerVectors | None = None  # when speakers were detected

    def end_within(self, seconds: float) -> None:
        """Keep every time inside the audio: the VAD's last frame is a whole 10 ms, so a segment that
        runs to the end of a file could otherwise end up to a frame after it."""
        for segment in self.segments:
            segment.end = min(segment.end, seconds)
            segment.start = min(segment.start, segment.end)
            segment.words = [(w, min(a, seconds), min(b, seconds)) for w, a, b in segment.words]


@dataclass
class Detailed:
    """A result with the engine-internal detail behind it: every token's [start, end] in ms, in
    time order (what FunASR's own loop returns as "timestamp"), for word timings and the bench."""

    result: TranscriptionResult
    timestamps: list[list[int]]


@dataclass(frozen=True)
class Prepared:
    """One file after the CPU stage: its samples and the speech regions the VAD found (ms)."""

    samples: np.ndarray
    speech_ms: tuple[tuple[int, int], ...]
    prepare_seconds: float

    @property
    def audio_seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE
