"""The numeric half of the fast FSMN-VAD: per-frame decibels and silence scores for a whole file.

FunASR's `FsmnVADStreaming` feeds a file through its streaming frontend in 60 s chunks and then
walks a Python state machine frame by frame. The same numbers come out of whole-file vector
code: Kaldi fbank (the frames are independent, so chunking never changed them), LFR stacking
with the first and last frames repeated at the edges, CMVN, and the FSMN network with its left
memory carried from block to block, exactly as FunASR's streaming cache carries it. The work is
cut into blocks only to bound memory (an hour of 400-dim LFR features would be 576 MB).

Decibels are computed with the same float32 numpy expression as FunASR's `ComputeDecibel`, so
they are bit-identical. Fbank and the network are computed by other kernels than FunASR's
(torch FFT for kaldi-native-fbank's, shifted adds for a depthwise conv), so scores agree to
float rounding (~1e-6), which can only move a decision of a frame whose score sits on the
threshold; tests/test_asr_vad.py bounds the effect on segments.

torch is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

BLOCK_FRAMES = 4096  # ~41 s of audio per block: 6.5 MB of LFR features
SPAN_MIN_FRAMES = 1500  # a file is split across threads into spans of at least 15 s


@dataclass(frozen=True)
class Frontend:
    """WavFrontendOnline's parameters (Kaldi fbank, then LFR with lfr_n == 1, then CMVN)."""

    fs: int
    frame_length: int  # samples
    frame_shift: int  # samples
    n_mels: int
    window: str
    lfr_m: int
    cmvn: np.ndarray | None  # (2, dim): shift, then scale


def frame_count(samples: int, frontend: Frontend) -> int:
    if samples < frontend.frame_length:
        return 0
    return (samples - frontend.frame_length) // frontend.frame_shift + 1


def decibels(samples: np.ndarray, frontend: Frontend) -> np.ndarray:
    """10 log10 of each frame's energy, as FsmnVADStreaming.ComputeDecibel computes it (float32)."""
    n = frame_count(len(samples), frontend)
    out = np.empty(n, dtype=np.float32)
    if n == 0:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(samples, frontend.frame_length)[:: frontend.frame_shift]
    for a in range(0, n, BLOCK_FRAMES):
        frames = np.square(windows[a : a + BLOCK_FRAMES])
        out[a : a + BLOCK_FRAMES] = 10 * np.log10(np.sum(frames, axis=1) + 0.000001)
    return out


def _window(kind: str, n: int) -> np.ndarray:
    i = np.arange(n, dtype=np.float64)
    a = 2 * math.pi / (n - 1)
    windows = {
        "hamming": lambda: 0.54 - 0.46 * np.cos(a * i),
        "hanning": lambda: 0.5 - 0.5 * np.cos(a * i),
        "povey": lambda: (0.5 - 0.5 * np.cos(a * i)) ** 0.85,
        "rectangular": lambda: np.ones(n),
        "blackman": lambda: 0.42 - 0.5 * np.cos(a * i) + 0.08 * np.cos(2 * a * i),
    }
    if kind not in windows:
        raise ValueError(f"unsupported fbank window {kind!r}")
    return windows[kind]()


def _mel_banks(n_mels: int, n_fft: int, fs: int, low: float = 20.0) -> np.ndarray:
    """Kaldi's triangular mel filters, (n_fft // 2 + 1, n_mels); the Nyquist bin has no weight."""

    def mel(f: np.ndarray | float) -> Any:
        return 1127.0 * np.log(1.0 + np.asarray(f) / 700.0)

    mel_low, mel_high = mel(low), mel(fs / 2)
    delta = (mel_high - mel_low) / (n_mels + 1)
    bins = mel(np.arange(n_fft // 2) * fs / n_fft)
    banks = np.zeros((n_fft // 2 + 1, n_mels))
    for m in range(n_mels):
        left, center, right = mel_low + m * delta, mel_low + (m + 1) * delta, mel_low + (m + 2) * delta
        up = (bins - left) / (center - left)
        down = (right - bins) / (right - center)
        inside = (bins > left) & (bins < right)
        banks[: n_fft // 2, m] = np.where(inside, np.where(bins <= center, up, down), 0.0)
    return banks


class Network:
    """The FSMN encoder's weights, copied out of FunASR's module, and a whole-file forward.

    The weights are refolded, exactly in real arithmetic: CMVN into the first affine layer, the
    two output affine layers into one, each FSMN block's `h + memory` into the memory's current
    tap, and the 16-bit sample scale (a power of two) into the mel banks. On the CPU the affine
    layers run through oneDNN (with their bias and ReLU fused), about 1.7x MKL's speed at these
    odd sizes here. Read-only after construction, so any number of threads may run it at once.
    """

    def __init__(self, encoder: Any, frontend: Frontend, sil_ids: list[int], device: str) -> None:
        import torch

        self.device = torch.device(device)
        self.frontend = frontend
        self.sil_ids = list(sil_ids)

        def affine(module: Any) -> tuple[Any, Any]:
            bias = module.linear.bias
            return (module.linear.weight.detach().double(),
                    None if bias is None else bias.detach().double())

        cmvn = None if frontend.cmvn is None else torch.tensor(frontend.cmvn[:2], dtype=torch.float64)
        first, second = affine(encoder.in_linear1), affine(encoder.in_linear2)
        if cmvn is not None:  # W ((x + shift) * scale) + b
            weight, bias = first
            first = (weight * cmvn[1], (bias if bias is not None else 0) + weight @ (cmvn[0] * cmvn[1]))
        self.inputs = [self._ready(first), self._ready(second)]
        (w1, b1), (w2, b2) = affine(encoder.out_linear1), affine(encoder.out_linear2)
        folded = (w2 @ b1 if b1 is not None else 0) + (b2 if b2 is not None else 0)
        self.output = self._ready((w2 @ w1, folded if torch.is_tensor(folded) else None))
        self.layers = []
        for block in encoder.fsmn:
            fsmn = block.fsmn_block
            taps = fsmn.conv_left.weight.detach()[:, 0, :, 0].double().T.contiguous()  # (lorder, D)
            taps[-1] += 1.0  # the block adds its input to the memory: the current frame's tap
            self.layers.append((self._ready((block.linear.linear.weight.detach().double(), None)),
                                taps.to(self.device, torch.float32), fsmn.lstride, self._ready(affine(block.affine))))
        n_fft = 1 << (frontend.frame_length - 1).bit_length()
        self.n_fft = n_fft
        self.window = torch.tensor(_window(frontend.window, frontend.frame_length), dtype=torch.float32,
                                   device=self.device)
        # Kaldi scales samples to the 16-bit range: 2^15 per sample is 2^30 on the power, exactly
        self.banks = torch.tensor(_mel_banks(frontend.n_mels, n_fft, frontend.fs) * 2.0**30, dtype=torch.float32,
                                  device=self.device)
        self.onednn = self.device.type == "cpu" and _has_onednn_linear()

    def _ready(self, affine: tuple[Any, Any]) -> tuple[Any, Any]:
        import torch

        weight, bias = affine
        return (weight.to(self.device, torch.float32).contiguous(),
                None if bias is None else bias.to(self.device, torch.float32).contiguous())

    def _linear(self, x: Any, affine: tuple[Any, Any], relu: bool) -> Any:
        import torch
        import torch.nn.functional as F

        weight, bias = affine
        if self.onednn:
            return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "relu" if relu else "none", [], "")
        y = F.linear(x, weight, bias)
        return y.relu_() if relu else y

    def _fbank(self, samples: Any) -> Any:
        """Log-mel frames of `samples` (a float32 tensor of a whole number of frames), Kaldi style:
        DC removed per frame, pre-emphasis 0.97, window, power spectrum, mel (16-bit scale), log."""
        import torch

        f = self.frontend
        frames = samples.unfold(0, f.frame_length, f.frame_shift)
        dc = frames.mean(dim=1, keepdim=True)
        # pre-emphasis of a frame with its mean removed: x[i] - 0.97 x[i-1] - 0.03 mean; x[0] - 0.97 x[0] first
        padded = frames.new_zeros(len(frames), self.n_fft)
        emphasised = padded[:, : f.frame_length]
        torch.sub(frames[:, 1:], frames[:, :-1], alpha=0.97, out=emphasised[:, 1:])
        emphasised[:, 1:] -= 0.03 * dc
        emphasised[:, 0] = 0.03 * (frames[:, 0] - dc[:, 0])
        emphasised *= self.window
        spectrum = torch.view_as_real(torch.fft.rfft(padded))
        power = spectrum[..., 0].square()
        power.addcmul_(spectrum[..., 1], spectrum[..., 1])
        return torch.clamp(power @ self.banks, min=float(np.finfo(np.float32).eps)).log_()

    def silence_scores(self, samples: np.ndarray) -> np.ndarray:
        """Per frame, the summed posterior of the silence pdfs (what GetFrameState reads), float32.

        With more than one torch thread, a long file is cut into one span per thread, each scored
        on its own thread with one torch thread: spans need no barrier between them, which two
        threads inside each small matrix product here do (~30% more CPU time on 2 cores). A span
        starts `reach` frames early with empty FSMN memory: every block's memory looks back a
        fixed number of frames, so from the span's first frame on it holds what the whole-file
        pass holds.
        """
        import torch

        n = frame_count(len(samples), self.frontend)
        out = np.empty(n, dtype=np.float32)
        if n == 0:
            return out
        wave = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).to(self.device)
        threads = torch.get_num_threads() if self.device.type == "cpu" else 1
        count = max(1, min(threads, n // SPAN_MIN_FRAMES))
        bounds = [n * i // count for i in range(count + 1)]
        if count == 1:
            with torch.inference_mode():
                self._score(wave, n, 0, n, out)
            return out

        def score(a: int, b: int) -> None:
            torch.set_num_threads(1)  # this thread's OpenMP team only
            with torch.inference_mode():
                self._score(wave, n, a, b, out)

        try:
            jobs = [_pool().submit(score, a, b) for a, b in zip(bounds[1:-1], bounds[2:], strict=True)]
            score(bounds[0], bounds[1])
            for job in jobs:
                job.result()
        finally:
            torch.set_num_threads(threads)  # this thread's setting, and the default for new threads
        return out

    @property
    def reach(self) -> int:
        """How many frames back the FSMN memory of the last block sees."""
        return sum((len(taps) - 1) * stride for _w, taps, stride, _a in self.layers)

    def _score(self, wave: Any, n: int, a: int, b: int, out: np.ndarray) -> None:
        """out[a:b], from frame max(0, a - reach) on with empty memory (a whole file: a = 0)."""
        import torch

        f = self.frontend
        half = (f.lfr_m - 1) // 2
        caches: list[Any] = [None] * len(self.layers)
        first = max(0, a - self.reach)
        for lo in range(first, b, BLOCK_FRAMES):
            hi = min(b, lo + BLOCK_FRAMES)
            fb_lo, fb_hi = max(0, lo - half), min(n, hi + half)
            fbank = self._fbank(wave[fb_lo * f.frame_shift : (fb_hi - 1) * f.frame_shift + f.frame_length])
            # LFR: frame j stacks fbank frames j-half .. j+half, the first and last repeated at the edges
            rows = torch.arange(lo, hi, device=self.device)[:, None] + torch.arange(-half, f.lfr_m - half,
                                                                                device=self.device)
            feats = fbank[rows.clamp(0, n - 1) - fb_lo].reshape(hi - lo, -1)
            scores = self._forward(feats, caches)
            sil = scores[:, self.sil_ids].sum(dim=1) if len(self.sil_ids) > 1 else scores[:, self.sil_ids[0]]
            keep = max(a, lo)
            out[keep:hi] = sil[keep - lo :].cpu().numpy()

    def _forward(self, x: Any, caches: list[Any]) -> Any:
        import torch

        x = self._linear(self._linear(x, self.inputs[0], relu=False), self.inputs[1], relu=True)
        for i, (w_in, taps, stride, affine) in enumerate(self.layers):
            h = self._linear(x, w_in, relu=False)
            span = (len(taps) - 1) * stride
            past = caches[i] if caches[i] is not None else h.new_zeros(span, h.shape[1])
            padded = torch.cat((past, h))
            caches[i] = padded[len(padded) - span :]
            # FunASR's depthwise Conv2d over (B, D, T, 1) plus its input, as shifted multiply-adds
            memory = h * taps[-1]
            for k in range(len(taps) - 1):
                memory.addcmul_(padded[k * stride : k * stride + len(h)], taps[k])
            x = self._linear(memory, affine, relu=True)
        return torch.softmax(self._linear(x, self.output, relu=False), dim=-1)


_pool_lock = threading.Lock()
_pools: list[ThreadPoolExecutor] = []


def _pool() -> ThreadPoolExecutor:
    with _pool_lock:
        if not _pools:
            _pools.append(ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1) - 1),
                                             thread_name_prefix="vad-span"))
        return _pools[0]


def _has_onednn_linear() -> bool:
    import torch

    try:
        torch.ops.mkldnn._linear_pointwise(torch.ones(1, 2), torch.ones(3, 2), None, "none", [], "")
    except (AttributeError, RuntimeError):
        return False
    return True
