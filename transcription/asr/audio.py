"""Media probing and decoding with PyAV (no torch, no funasr: the web process uses this).

`probe()` is what upload validation calls; `decode()` turns anything ffmpeg reads into the
16 kHz mono float32 samples the engine wants, one demuxed packet at a time.

MediaError messages are English and marked for translation (gettext_noop): show them with
`gettext(str(error))`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import av
import numpy as np

SAMPLE_RATE = 16000

# Leading bytes of the containers users upload. A file that starts like media but that
# ffmpeg cannot read is reported as damaged/incomplete rather than "not media".
_MAGIC_PREFIXES = (b"RIFF", b"ID3", b"OggS", b"fLaC", b"\x1aE\xdf\xa3", b"0&\xb2u", b"#!AMR", b"FORM", b".snd")


def gettext_noop(message: str) -> str:
    """Marks a message for `makemessages` without needing Django settings (the bench runs without)."""
    return message


class MediaError(Exception):
    """A file that cannot be transcribed; str(e) is shown to the user."""


EMPTY = gettext_noop("This file is empty (0 bytes).")
NOT_MEDIA = gettext_noop("This file is not an audio or video file that can be read.")
DAMAGED = gettext_noop(
    "This file looks like audio or video but is damaged or incomplete (was the upload or download cut off?)."
)
NO_AUDIO = gettext_noop("This file has no audio track.")
ZERO_SECONDS = gettext_noop("This file's audio is 0 seconds long.")
UNREADABLE = gettext_noop("This file could not be opened.")


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    codec: str
    container: str
    has_video: bool
    sample_rate: int
    channels: int


def _looks_like_media(path: str | os.PathLike) -> bool:
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(_MAGIC_PREFIXES) or head[4:8] == b"ftyp":
        return True
    # MPEG audio / ADTS frame sync
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0


def _open(path: str | os.PathLike) -> av.container.InputContainer:
    try:
        size = os.path.getsize(path)
    except OSError:
        raise MediaError(UNREADABLE)
    if size == 0:
        raise MediaError(EMPTY)
    try:
        return av.open(os.fspath(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise MediaError(DAMAGED if _looks_like_media(path) else NOT_MEDIA)


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        # ffmpeg also "opens" text (as ANSI art) and still images; those are not media uploads
        name = container.format.name
        if not container.streams.video or name in ("tty", "image2") or name.endswith("_pipe"):
            raise MediaError(NOT_MEDIA)
        raise MediaError(NO_AUDIO)
    return container.streams.audio[0]


def _has_video(container: av.container.InputContainer) -> bool:
    # Cover art in mp3/m4a shows up as a one-frame "attached picture" video stream.
    return any(not (s.disposition & av.stream.Disposition.attached_pic) for s in container.streams.video)


def _declared_duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _demuxed_duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float:
    """Duration from packet timestamps, for containers without a header duration (raw AMR, ADTS)."""
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def _reaches_end(container: av.container.InputContainer, stream: av.audio.stream.AudioStream, duration: float) -> bool:
    """Seek close to the declared end and read one packet: a cut-off file has nothing there."""
    if duration < 2.0 or stream.time_base is None:
        return True
    target = int((duration * 0.97 - 0.5) / stream.time_base) + (stream.start_time or 0)
    try:
        container.seek(target, stream=stream, any_frame=False, backward=True)
        for packet in container.demux(stream):
            if packet.size:
                pos = packet.pts
                if pos is None:
                    return True
                return float((pos - (stream.start_time or 0)) * stream.time_base) >= duration * 0.5
    except av.error.FFmpegError:
        return False
    return False


def _wav_is_cut_off(path: str | os.PathLike) -> bool:
    """ffmpeg trusts a WAV's file size over its header, so check the data chunk ourselves."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(12)[8:12] != b"WAVE":
            return False
        while header := f.read(8):
            if len(header) < 8:
                return False
            chunk, length = header[:4], int.from_bytes(header[4:], "little")
            if chunk == b"data":
                # 0 and 0xFFFFFFFF mean "unknown length" (streamed writers)
                return length not in (0, 0xFFFFFFFF) and f.tell() + length > size + 1
            f.seek(length + (length & 1), os.SEEK_CUR)
    return False


def probe(path: str | os.PathLike) -> MediaInfo:
    """Read container headers (and one packet near the end): fast, does not decode."""
    with _open(path) as container:
        if container.format.name == "wav" and _wav_is_cut_off(path):
            raise MediaError(DAMAGED)
        stream = _audio_stream(container)
        ctx = stream.codec_context
        duration = _declared_duration(container, stream)
        if duration is None:
            duration = _demuxed_duration(container, stream)
        elif duration > 0 and not _reaches_end(container, stream, duration):
            raise MediaError(DAMAGED)
        if duration <= 0:
            raise MediaError(ZERO_SECONDS)
        return MediaInfo(
            duration=duration,
            codec=ctx.name or "",
            container=container.format.name,
            has_video=_has_video(container),
            sample_rate=ctx.sample_rate or 0,
            channels=ctx.channels or 0,
        )


def _to_mono(frames: list[av.AudioFrame]) -> np.ndarray:
    # Planar float: average the channels ourselves (swresample's downmix can exceed 1.0).
    chunks = [f.to_ndarray() for f in frames]
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    planar = np.concatenate(chunks, axis=1)
    mono = planar.mean(axis=0, dtype=np.float32) if planar.shape[0] > 1 else planar[0]
    return np.clip(mono, -1.0, 1.0, out=mono)


def decode(path: str | os.PathLike) -> np.ndarray:
    """Decode the first audio track to 16 kHz mono float32 in [-1, 1].

    Streams packet by packet (the compressed file is never held in memory); a packet that fails
    to decode is skipped like ffmpeg does, but a file that yields no audio at all is an error.
    Runs `probe()` first, so cut-off files are rejected here too.
    """
    probe(path)
    pieces: list[np.ndarray] = []
    bad_packets = 0
    with _open(path) as container:
        stream = _audio_stream(container)
        stream.thread_type = "AUTO"
        resampler: av.AudioResampler | None = None
        setup: tuple[str, int, str] | None = None
        pending: list[av.AudioFrame] = []
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except (av.error.InvalidDataError, av.error.PatchWelcomeError, av.error.UndefinedError):
                    bad_packets += 1
                    continue
                for frame in frames:
                    if (frame.layout.name, frame.sample_rate, frame.format.name) != setup:
                        # The resampler is fixed to its first input; rebuild it when a stream changes.
                        if resampler is not None:
                            pending.extend(resampler.resample(None))
                            pieces.append(_to_mono(pending))
                            pending = []
                        setup = (frame.layout.name, frame.sample_rate, frame.format.name)
                        resampler = av.AudioResampler(format="fltp", layout=setup[0], rate=SAMPLE_RATE)
                    frame.pts = None
                    pending.extend(resampler.resample(frame))
                if len(pending) > 256:
                    pieces.append(_to_mono(pending))
                    pending = []
        except av.error.FFmpegError:
            # Demuxing failed part-way: a truncated container.
            raise MediaError(DAMAGED)
        if resampler is not None:
            pending.extend(resampler.resample(None))
        pieces.append(_to_mono(pending))
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    if audio.size == 0:
        raise MediaError(DAMAGED if bad_packets else ZERO_SECONDS)
    return audio
