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
from dataclasses import dataclass
from typing import Any

import numpy as np

BLOCK_FRAMES = 4096  # ~41 s of audio per block: 6.5 MB of LFR features


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

    Read-only after construction, so any number of threads may run it at once.
    """

    def __init__(self, encoder: Any, frontend: Frontend, sil_ids: list[int], device: str) -> None:
        import torch

        self.device = torch.device(device)
        self.frontend = frontend
        self.sil_ids = list(sil_ids)

        def affine(module: Any) -> tuple[Any, Any]:
            # stored (in, out) for addmm; FunASR's Linear keeps (out, in)
            weight = module.linear.weight.detach().to(self.device, torch.float32).T.contiguous()
            bias = module.linear.bias
            return weight, None if bias is None else bias.detach().to(self.device, torch.float32).clone()

        self.inputs = [affine(encoder.in_linear1), affine(encoder.in_linear2)]
        self.outputs = [affine(encoder.out_linear1), affine(encoder.out_linear2)]
        self.layers = []
        for block in encoder.fsmn:
            fsmn = block.fsmn_block
            taps = fsmn.conv_left.weight.detach()[:, :, :, 0].to(self.device, torch.float32).clone()  # (D, 1, lorder)
            self.layers.append((affine(block.linear)[0], taps, fsmn.lstride, affine(block.affine)))
        n_fft = 1 << (frontend.frame_length - 1).bit_length()
        self.n_fft = n_fft
        self.window = torch.tensor(_window(frontend.window, frontend.frame_length), dtype=torch.float32,
                                   device=self.device)
        self.banks = torch.tensor(_mel_banks(frontend.n_mels, n_fft, frontend.fs), dtype=torch.float32,
                                  device=self.device)
        cmvn = frontend.cmvn
        self.cmvn = None if cmvn is None else torch.tensor(cmvn[:2], dtype=torch.float32, device=self.device)

    def _fbank(self, samples: Any) -> Any:
        """Log-mel frames of `samples` (a float32 tensor of a whole number of frames), Kaldi style:
        16-bit range, DC removed per frame, pre-emphasis 0.97, window, power spectrum, mel, log."""
        import torch

        f = self.frontend
        wave = samples * 32768.0
        frames = wave.unfold(0, f.frame_length, f.frame_shift)
        dc = frames.mean(dim=1, keepdim=True)
        # pre-emphasis of a frame with its mean removed: x[i] - 0.97 x[i-1] - 0.03 mean; x[0] - 0.97 x[0] first
        padded = frames.new_zeros(len(frames), self.n_fft)
        emphasised = padded[:, : f.frame_length]
        torch.sub(frames[:, 1:], frames[:, :-1], alpha=0.97, out=emphasised[:, 1:])
        emphasised[:, 1:] -= 0.03 * dc
        emphasised[:, 0] = 0.03 * (frames[:, 0] - dc[:, 0])
        emphasised *= self.window
        spectrum = torch.fft.rfft(padded)
        power = spectrum.real.square_() + spectrum.imag.square_()
        return torch.clamp(power @ self.banks, min=float(np.finfo(np.float32).eps)).log_()

    def silence_scores(self, samples: np.ndarray) -> np.ndarray:
        """Per frame, the summed posterior of the silence pdfs (what GetFrameState reads), float32."""
        import torch

        f = self.frontend
        n = frame_count(len(samples), f)
        out = np.empty(n, dtype=np.float32)
        if n == 0:
            return out
        wave = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).to(self.device)
        half = (f.lfr_m - 1) // 2
        caches = [None] * len(self.layers)
        with torch.inference_mode():
            for a in range(0, n, BLOCK_FRAMES):
                b = min(n, a + BLOCK_FRAMES)
                lo, hi = max(0, a - half), min(n, b + half)
                fbank = self._fbank(wave[lo * f.frame_shift : (hi - 1) * f.frame_shift + f.frame_length])
                # LFR: frame j stacks fbank frames j-half .. j+half, the first and last repeated at the edges
                rows = torch.arange(a, b, device=self.device)[:, None] + torch.arange(-half, f.lfr_m - half,
                                                                                  device=self.device)
                feats = fbank[rows.clamp(0, n - 1) - lo].reshape(b - a, -1)
                if self.cmvn is not None:
                    feats = (feats + self.cmvn[0]) * self.cmvn[1]
                scores = self._forward(feats, caches)
                out[a:b] = scores[:, self.sil_ids].sum(dim=1).cpu().numpy() if len(self.sil_ids) > 1 else \
                    scores[:, self.sil_ids[0]].cpu().numpy()
        return out

    def _forward(self, x: Any, caches: list[Any]) -> Any:
        import torch
        import torch.nn.functional as F

        for weight, bias in self.inputs:
            x = torch.addmm(bias, x, weight)
        x.relu_()
        for i, (w_in, taps, stride, (w_out, b_out)) in enumerate(self.layers):
            h = x @ w_in
            span = (taps.shape[-1] - 1) * stride
            past = caches[i] if caches[i] is not None else h.new_zeros(span, h.shape[1])
            padded = torch.cat((past, h))
            caches[i] = padded[len(padded) - span :]
            # FunASR's depthwise Conv2d over (B, D, T, 1), as a depthwise conv1d over (1, D, T)
            memory = F.conv1d(padded.T[None], taps, dilation=stride, groups=h.shape[1])[0].T
            x = torch.addmm(b_out, h + memory, w_out).relu_()
        for weight, bias in self.outputs:
            x = torch.addmm(bias, x, weight)
        return torch.softmax(x, dim=-1)
