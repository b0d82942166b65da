"""Fast FSMN-VAD for whole files: the same speech segments as FunASR's `FsmnVADStreaming`.

FunASR's offline VAD call streams a file through the model in 60 s chunks and decides frame by
frame in a Python state machine (~0.8 s of CPU per minute of audio here). This module computes
the per-frame numbers for the whole file at once (`vad_features`), makes the per-frame speech
decisions with numpy, and replays the state machine over the decisions in a tight loop. The
rules are FunASR 1.4.16's (funasr/models/fsmn_vad_streaming/model.py), read from the loaded
model so both implementations always run the same configuration:

- a frame is speech when its energy is at least `decibel_thres`, its silence posterior s meets
  exp(log(1 - s)) >= exp(log(s) * speech_2_noise_ratio) + speech_noise_thres, and its SNR
  against the running noise average is at least `snr_thres`;
- a 200 ms window of such decisions starts speech at >= 150 ms of speech and stops it at
  <= 150 ms (`sil_to_speech_time_thres`, `speech_to_sil_time_thres`);
- a segment starts `window + lookback_time_start_point` before the window fired (never before
  the previous segment's end), ends after the end silence threshold (minus the look-ahead), is
  cut at `max_single_segment_time`, and the detector starts afresh after every segment;
- the end silence threshold follows FunASR's dynamic schedule, which it updates once per
  `chunk_size` (60 s) of audio from the speech accumulated since a segment last ended, and the
  speech/noise threshold is then 0.5.

Configurations this module does not implement (single-utterance mode, streaming-size chunks,
right-context FSMN memory, LFR stride above one, fbank dither) make `FastVad.unsupported()` name
the reason; the engine then uses FunASR's own VAD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .vad_features import Frontend, Network, decibels, frame_count

_AMBIGUOUS = 1e-9  # vectorised exp/log may round differently from math's within this margin


@dataclass(frozen=True)
class Rules:
    """The decision and state-machine settings of one VAD model (FunASR's VADXOptions + kwargs)."""

    frame_ms: int
    window_frames: int
    sil_to_speech_frames: int
    speech_to_sil_frames: int
    speech_to_sil_ms: int
    start_latency_frames: int  # window + look-back
    lookahead_ms: int
    do_extend: bool
    max_segment_frames: float
    decibel_thres: float
    snr_thres: float
    speech_2_noise_ratio: float
    speech_noise_thres: float
    noise_frames: int
    fe_prior_thres: float
    chunk_samples: int
    fixed_end_silence_ms: int  # used when the schedule is off
    schedule: tuple[tuple[float, int], ...] | None  # (accumulated speech ms, end silence ms)
    chunk_ms: int


def frame_speech(db: np.ndarray, sil: np.ndarray, r: Rules) -> np.ndarray:
    """Per frame: is it speech (FsmnVADStreaming.GetFrameState, then the fe_prior check)?"""
    db64 = db.astype(np.float64)
    s = sil.astype(np.float64)
    loud = db64 >= r.decibel_thres
    with np.errstate(divide="ignore"):
        lhs = np.exp(np.log(1.0 - s))
        rhs = np.exp(np.log(s) * r.speech_2_noise_ratio) + r.speech_noise_thres
    passes = lhs >= rhs
    for t in np.flatnonzero(loud & (np.abs(lhs - rhs) < _AMBIGUOUS)):  # settle ties as FunASR's math would
        v = float(s[t])
        passes[t] = math.exp(math.log(1.0 - v)) >= math.exp(math.log(v) * r.speech_2_noise_ratio) + \
            r.speech_noise_thres
    candidate = loud & passes
    noise = loud & ~passes
    speech = candidate
    noise_at = np.flatnonzero(noise)
    lowest = db64[candidate].min() if candidate.any() else math.inf
    # the noise average is a mean of noise decibels (or -100 before the first): an upper bound
    highest_noise = max(float(db64[noise_at].max()) if noise_at.size else -100.0, -100.0) + 1e-6
    if lowest - highest_noise < r.snr_thres:  # the SNR test can bind: replay the running average
        averages = np.empty(noise_at.size)
        avg = -100.0
        n = r.noise_frames
        for k, t in enumerate(noise_at.tolist()):
            d = float(db64[t])
            avg = d if avg < -99.9 else (d + avg * (n - 1)) / n
            averages[k] = avg
        before = np.searchsorted(noise_at, np.arange(len(db64))) - 1
        noise_avg = np.where(before >= 0, averages[np.maximum(before, 0)] if averages.size else -100.0, -100.0)
        speech = candidate & (db64 - noise_avg >= r.snr_thres)
    if r.fe_prior_thres >= 1.0:
        speech = np.zeros_like(speech)
    return speech


def chunk_ends(samples: int, frontend: Frontend, r: Rules) -> list[int]:
    """The frame index after the last frame FunASR's streaming frontend emits in each chunk."""
    total = frame_count(samples, frontend)
    chunks = samples // r.chunk_samples + 1
    half = (frontend.lfr_m - 1) // 2
    ends = [max(0, frame_count((i + 1) * r.chunk_samples, frontend) - half) for i in range(chunks - 1)]
    return [min(e, total) for e in ends] + [total]


def _end_silence_ms(accumulated_ms: float, r: Rules, current: int) -> int:
    assert r.schedule is not None
    for limit_ms, silence_ms in r.schedule:
        if accumulated_ms <= limit_ms:
            return max(silence_ms - r.speech_to_sil_ms, 0)
    return current


def segments(speech: np.ndarray, ends: Sequence[int], r: Rules) -> list[tuple[int, int]]:
    """FunASR's multiple-utterance state machine over per-frame decisions; segments in ms."""
    flags = speech.astype(np.int8).tolist()
    last = len(flags) - 1
    win = [0] * r.window_frames
    pos = win_sum = 0
    pre_speech = in_segment = False
    start = count = 0
    prev_end = -1
    out: list[tuple[int, int]] = []
    accumulated, accumulating = 0.0, False
    end_silence = r.fixed_end_silence_ms
    frame_ms, speech_up, speech_down = r.frame_ms, r.sil_to_speech_frames, r.speech_to_sil_frames
    extend_frames = r.lookahead_ms // frame_ms
    t = 0
    for chunk_end in ends:
        if r.schedule is not None:
            if in_segment or accumulating:
                accumulated += r.chunk_ms
                accumulating = True
            end_silence = _end_silence_ms(accumulated, r, end_silence)
        emitted = len(out)
        while t < chunk_end:
            flag = flags[t]
            win_sum += flag - win[pos]
            win[pos] = flag
            pos = (pos + 1) % r.window_frames
            end = None  # the segment's last frame, when it ends at this frame
            if pre_speech or win_sum >= speech_up:  # silence-to-speech, speech-to-silence or speech-to-speech
                if not pre_speech:
                    pre_speech = True
                    if not in_segment:
                        start = max(prev_end + 1, t - r.start_latency_frames)
                        in_segment = True
                        count = 0
                        t += 1
                        continue
                elif win_sum <= speech_down:
                    pre_speech = False
                count = 0
                if in_segment and (t - start + 1 > r.max_segment_frames or t == last):
                    end = t
            else:  # silence to silence
                count += 1
                if in_segment:
                    if count * frame_ms >= end_silence:
                        lookback = end_silence // frame_ms
                        if r.do_extend:
                            lookback = max(0, lookback - extend_frames - 1)
                        end = t - lookback
                    elif t - start + 1 > r.max_segment_frames or t == last:
                        end = t
            if end is not None:
                out.append((start * frame_ms, (end + 1) * frame_ms))
                prev_end = end
                in_segment = pre_speech = False
                count = pos = win_sum = 0
                win = [0] * r.window_frames
            t += 1
        if r.schedule is not None and len(out) > emitted:
            accumulated, accumulating = 0.0, False
    if in_segment:  # a segment that began on the very last frame
        out.append((start * frame_ms, (last + 1) * frame_ms))
    return out


class FastVad:
    """Whole-file FSMN-VAD with FunASR's model, weights and configuration. Thread-safe."""

    def __init__(self, model: Any, kwargs: dict[str, Any], device: str) -> None:
        from funasr.models.fsmn_vad_streaming.model import DEFAULT_SILENCE_SCHEDULE

        fe = kwargs["frontend"]
        self.frontend = Frontend(fs=fe.fs, frame_length=fe.frame_sample_length,
                                 frame_shift=fe.frame_shift_sample_length, n_mels=fe.n_mels, window=fe.window,
                                 lfr_m=fe.lfr_m, cmvn=None if fe.cmvn is None else np.asarray(fe.cmvn))
        o = model.vad_opts
        self.problems = self._problems(model, kwargs, fe)
        chunk_ms = int(kwargs.get("chunk_size", 60000))
        dynamic = kwargs.get("dynamic_silence", kwargs.get("max_end_silence_time") is None)
        schedule = kwargs.get("silence_schedule", DEFAULT_SILENCE_SCHEDULE) if dynamic else None
        end_silence_time = kwargs.get("max_end_silence_time", o.max_end_silence_time)
        self.rules = Rules(
            frame_ms=int(o.frame_in_ms), window_frames=int(o.window_size_ms / o.frame_in_ms),
            sil_to_speech_frames=int(o.sil_to_speech_time_thres / o.frame_in_ms),
            speech_to_sil_frames=int(o.speech_to_sil_time_thres / o.frame_in_ms),
            speech_to_sil_ms=int(o.speech_to_sil_time_thres),
            start_latency_frames=int(o.window_size_ms / o.frame_in_ms)
            + (int(o.lookback_time_start_point / o.frame_in_ms) if o.do_extend else 0),
            lookahead_ms=int(o.lookahead_time_end_point), do_extend=bool(o.do_extend),
            max_segment_frames=o.max_single_segment_time / o.frame_in_ms, decibel_thres=o.decibel_thres,
            snr_thres=o.snr_thres, speech_2_noise_ratio=o.speech_2_noise_ratio,
            speech_noise_thres=0.5 if dynamic else kwargs.get("speech_noise_thres", o.speech_noise_thres),
            noise_frames=int(o.noise_frame_num_used_for_snr), fe_prior_thres=o.fe_prior_thres,
            chunk_samples=int(chunk_ms * fe.fs / 1000),
            fixed_end_silence_ms=int(end_silence_time - o.speech_to_sil_time_thres),
            schedule=None if schedule is None else tuple((float(a), int(b)) for a, b in schedule), chunk_ms=chunk_ms,
        )
        self.network = None if self.problems else Network(model.encoder, self.frontend, list(o.sil_pdf_ids), device)

    @staticmethod
    def _problems(model: Any, kwargs: dict[str, Any], fe: Any) -> list[str]:
        o = model.vad_opts
        checks = {
            "single-utterance detect mode": o.detect_mode != 1,
            "streaming-size chunks": int(kwargs.get("chunk_size", 60000)) < 15000,
            "LFR stride above 1": fe.lfr_n != 1,
            "fbank dither": float(getattr(fe, "dither", 0.0)) != 0.0,
            "right-context FSMN memory": any(b.fsmn_block.rorder > 0 for b in model.encoder.fsmn),
            "a frame shift other than the VAD's": fe.frame_shift != o.frame_in_ms,
            "softmax-free encoder": not getattr(model.encoder, "use_softmax", True),
        }
        return [name for name, bad in checks.items() if bad]

    def unsupported(self) -> str:
        return ", ".join(self.problems)

    def __call__(self, samples: np.ndarray) -> list[tuple[int, int]]:
        """Speech segments of 16 kHz mono float32 samples, in ms, as FunASR's VAD gives them."""
        assert self.network is not None, self.unsupported()
        db = decibels(samples, self.frontend)
        if db.size == 0:
            return []
        speech = frame_speech(db, self.network.silence_scores(samples), self.rules)
        return segments(speech, chunk_ends(len(samples), self.frontend, self.rules), self.rules)
