"""The ASR stage: Paraformer decoding of VAD pieces in padded batches that decode as single items.

torch is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from . import pipeline


class BatchSizeError(Exception):
    """The model returned a different number of results than it was given pieces."""


def mask_batch_padding(model: Any) -> None:
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


DTYPES = ("fp32", "fp16", "bf16")


def autocast(device: str, dtype: str) -> Any:
    """The precision context for the ASR model: fp32 as loaded, or CUDA autocast to half precision
    (weights stay fp32; matrix products run in fp16/bf16, reductions and softmax in fp32)."""
    import torch

    if dtype == "fp32" or not device.startswith("cuda"):
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.float16 if dtype == "fp16" else torch.bfloat16)


def decode(am: Any, pieces: Sequence[pipeline.Piece], hotword: str | None, dtype: str = "fp32") -> None:
    """Recognise `pieces` in one batch; sets each piece's text and absolute token timestamps.

    With no hotword the SeACo bias path (bias BLSTM, SeACo decoder) is not run at all: FunASR
    skips it when its hotword list is None, and a blank list is passed as None.

    A batch the GPU has no memory for is halved until it fits: masked batches decode like single
    items, so the split changes nothing but memory.
    """
    import torch

    kwargs = dict(am.kwargs)
    kwargs.pop("hotword", None)
    if hotword and hotword.strip():
        kwargs["hotword"] = hotword
    try:
        with autocast(str(kwargs.get("device", "cpu")), dtype):
            out = am.model.inference(data_in=[p.samples for p in pieces],
                                     key=[f"seg{i}" for i in range(len(pieces))], **kwargs)
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        if len(pieces) == 1:
            raise
        half = len(pieces) // 2
        decode(am, pieces[:half], hotword, dtype)
        decode(am, pieces[half:], hotword, dtype)
        return
    results = out[0] if out else []
    if not results:  # FunASR returns nothing when no item in the batch has a token
        results = [{"text": "", "timestamp": []} for _ in pieces]
    if len(results) != len(pieces):
        raise BatchSizeError(f"The ASR model returned {len(results)} results for {len(pieces)} segments.")
    for piece, result in zip(pieces, results, strict=True):
        piece.text = pipeline.strip_tags(str(result.get("text", "")))
        stamps = result.get("timestamp")
        piece.timestamps = ([[int(a) + piece.start_ms, int(b) + piece.start_ms] for a, b in stamps]
                            if stamps is not None else None)
