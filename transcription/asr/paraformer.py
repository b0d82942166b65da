"""The ASR stage: Paraformer decoding of VAD pieces in padded batches that decode as single items.

torch is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import pipeline


class BatchSizeError(Exception):
    """The model returned a different number of results than it was given pieces."""


def mask_batch_padding(model: Any) -> None:
    """Make a batch decode exactly as its items would one at a time (shared/funasr-offline.md).

    FunASR's CIF predictor convolves past the end of each item into the padded encoder frames,
    and its timestamp head runs a BLSTM backwards from the padding, so batching changes the
    output of every item shorter than the longest. Both (small: ~1 % of the model's time) run per
    item on that item's own frames. Zeroing the padding is not enough for the predictor: its
    512 -> 1 output layer, given the whole batch, rounds differently (~1e-7 in the weights that
    decide where tokens fire), which flipped a near-tie on a 10-minute file; per item, the same
    kernels see the same shapes as alone, so the bits are the same. The encoder and the decoder
    give the same bits batched (masked) as alone.
    """
    import torch

    predictor = _predictor_without_upsampling(model) or model.calc_predictor

    def calc_predictor(encoder_out: Any, encoder_out_lens: Any) -> Any:
        if encoder_out.size(0) == 1:
            return predictor(encoder_out, encoder_out_lens)
        parts = [predictor(encoder_out[i : i + 1, :n], encoder_out_lens[i : i + 1])
                 for i, n in enumerate(encoder_out_lens.tolist())]
        embeds, token_num, alphas, peaks = zip(*parts, strict=True)
        return _stack_padded(embeds), torch.cat(token_num), _stack_padded(alphas), _stack_padded(peaks)

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


def _stack_padded(items: Sequence[Any]) -> Any:
    """Batch-of-one tensors (1, n, ...) of different n as one (B, max n, ...), zeros after each."""
    longest = max(item.size(1) for item in items)
    out = items[0].new_zeros((len(items), longest, *items[0].shape[2:]))
    for i, item in enumerate(items):
        out[i, : item.size(1)] = item[0]
    return out


def _predictor_without_upsampling(model: Any) -> Any | None:
    """BiCifParaformer's (and SeacoParaformer's) calc_predictor without the work it throws away.

    Their CifPredictorV3.forward also runs the timestamp head's upsampling (a transposed conv
    and a BLSTM over three times the frames, ~80% of the predictor's time) for a fifth output,
    token_num2, which calc_predictor drops; the timestamp head runs again, on its own, in
    calc_predictor_timestamp. This is that forward (funasr 1.4.16) at inference without the
    fifth output: the same operations on the same tensors, so the same bits.
    """
    import torch
    from funasr.models.bicif_paraformer.model import BiCifParaformer
    from funasr.models.transformer.utils.nets_utils import make_pad_mask

    p = getattr(model, "predictor", None)
    if not isinstance(model, BiCifParaformer) or not _is_cif_v3(p):
        return None

    def calc_predictor(encoder_out: Any, encoder_out_lens: Any) -> Any:
        mask = (~make_pad_mask(encoder_out_lens, maxlen=encoder_out.size(1))[:, None, :]).to(encoder_out.device)
        output = torch.relu(p.cif_conv1d(p.pad(encoder_out.transpose(1, 2)))).transpose(1, 2)
        alphas = torch.nn.functional.relu(torch.sigmoid(p.cif_output(output)) * p.smooth_factor - p.noise_threshold)
        mask = mask.transpose(-1, -2).float()
        alphas = (alphas * mask).squeeze(-1)
        mask = mask.squeeze(-1)
        hidden, token_num = encoder_out, alphas.sum(-1)
        if p.tail_threshold > 0.0:
            hidden, alphas, token_num = p.tail_process_fn(hidden, alphas, token_num, mask=mask)
        acoustic_embeds, cif_peak = cif(hidden, alphas, p.threshold)
        if p.tail_threshold > 0.0:
            acoustic_embeds = acoustic_embeds[:, : torch.max(token_num).type(torch.int32).item(), :]
        return acoustic_embeds, token_num, alphas, cif_peak

    return calc_predictor


def _is_cif_v3(predictor: Any) -> bool:
    from funasr.models.bicif_paraformer.cif_predictor import CifPredictorV3

    return type(predictor) is CifPredictorV3


def cif(hidden: Any, alphas: Any, threshold: float) -> tuple[Any, Any]:
    """FunASR's `cif` (funasr 1.4.16, bicif_paraformer): the acoustic embeddings at each firing
    and the running weight per frame, with its time loop in numpy instead of ~10 torch calls per
    frame: the same float32 operations in the same order, so the same bits.
    """
    import torch

    h = hidden.detach().cpu().numpy()
    a = alphas.detach().cpu().numpy()
    batch, frames, size = h.shape
    one, limit = np.float32(1.0), np.float32(threshold)
    integrate = np.zeros(batch, dtype=np.float32)
    frame = np.zeros((batch, size), dtype=np.float32)
    fires = np.empty((batch, frames), dtype=np.float32)
    framed = np.empty((batch, frames, size), dtype=np.float32)
    for t in range(frames):
        alpha, x = a[:, t], h[:, t, :]
        completion = one - integrate
        integrate = integrate + alpha
        fires[:, t] = integrate
        fired = integrate >= limit
        integrate = np.where(fired, integrate - one, integrate)
        cur = np.where(fired, completion, alpha)
        remainder = alpha - cur
        frame = frame + cur[:, None] * x
        framed[:, t] = frame
        frame = np.where(fired[:, None], remainder[:, None] * x, frame)
    fires_t = torch.from_numpy(fires).to(hidden.device)
    frames_t = torch.from_numpy(framed).to(hidden.device)
    max_label_len = torch.round(alphas.sum(-1)).int().max()
    embeds = []
    for b in range(batch):
        picked = torch.index_select(frames_t[b], 0, torch.nonzero(fires_t[b] >= threshold).squeeze(-1))
        pad = torch.zeros([max_label_len - picked.size(0), size], device=hidden.device)
        embeds.append(torch.cat([picked, pad], 0))
    return torch.stack(embeds, 0), fires_t


def cif_fires(alphas: Any, threshold: float) -> Any:
    """FunASR's `cif_wo_hidden`: the running weight per frame, its loop in numpy (the same bits)."""
    import torch

    a = alphas.detach().cpu().numpy()
    limit = np.float32(threshold)
    fires = np.empty(a.shape, dtype=np.float32)
    integrate = np.zeros(a.shape[0], dtype=np.float32)
    for t in range(a.shape[1]):
        integrate = integrate + a[:, t]
        fires[:, t] = integrate
        integrate = np.where(integrate >= limit, integrate - limit, integrate)
    return torch.from_numpy(fires).to(alphas.device)


def timestamp_loops_in_numpy(model: Any) -> None:
    """Run the timestamp head's two CIF loops (3 per encoder frame) through `cif_fires`: ~90 ms
    per minute of audio as torch calls, ~3 ms in numpy. The predictor's own loop is `cif`."""
    p = getattr(model, "predictor", None)
    if _is_cif_v3(p) and p.upsample_type in ("cnn", "cnn_blstm", "cnn_attn"):
        p.get_upsample_timestamp = _upsample_timestamp(p)


def _upsample_timestamp(p: Any) -> Any:
    """CifPredictorV3.get_upsample_timestamp (funasr 1.4.16) with `cif_fires` for its two loops."""
    import torch

    def get_upsample_timestamp(hidden: Any, mask: Any = None, token_num: Any = None) -> Any:
        b = hidden.shape[0]
        context = hidden.transpose(1, 2)
        output = torch.relu(p.cif_conv1d(p.pad(context)))
        _output = output if p.use_cif1_cnn else context
        output2 = p.upsample_cnn(_output).transpose(1, 2)
        if p.upsample_type == "cnn_blstm":
            output2, (_, _) = p.blstm(output2)
        elif p.upsample_type == "cnn_attn":
            output2, _ = p.self_attn(output2, mask)
        alphas2 = torch.sigmoid(p.cif_output2(output2))
        alphas2 = torch.nn.functional.relu(alphas2 * p.smooth_factor2 - p.noise_threshold2)
        if mask is not None:
            mask2 = mask.repeat(1, p.upsample_times, 1).transpose(-1, -2).reshape(alphas2.shape[0], -1)
            alphas2 = alphas2 * mask2.unsqueeze(-1)
        alphas2 = alphas2.squeeze(-1)
        _token_num = alphas2.sum(-1)
        if token_num is not None:
            alphas2 *= (token_num / _token_num)[:, None].repeat(1, alphas2.size(1))
        ds_alphas = alphas2.reshape(b, -1, p.upsample_times).sum(-1)
        ds_cif_peak = cif_fires(ds_alphas, p.threshold - 1e-4)
        us_cif_peak = cif_fires(alphas2, p.threshold - 1e-4)
        return ds_alphas, ds_cif_peak, alphas2, us_cif_peak

    return get_upsample_timestamp


def skip_full_masks(model: Any) -> None:
    """Drop attention masks that mask nothing, in the SAN-M encoder and the Paraformer decoder.

    A mask of all ones (one segment alone, or a batch of equal lengths) still costs two
    masked_fill passes over every (heads x frames x frames) score tensor and two multiplies
    in each FSMN memory, ~15% of the encoder on one 60-s segment here. Given no mask, FunASR's
    attention does the same arithmetic without them: the same bits.
    """
    from funasr.models.sanm.attention import (
        MultiHeadedAttentionCrossAtt,
        MultiHeadedAttentionSANM,
        MultiHeadedAttentionSANMDecoder,
    )

    at = {MultiHeadedAttentionSANM: 1, MultiHeadedAttentionSANMDecoder: 1, MultiHeadedAttentionCrossAtt: 2}
    chunked = ("mask_shfit_chunk", "mask_att_chunk_encoder")
    for module in model.modules():
        index = at.get(type(module))
        if index is None:
            continue

        def forward(*args: Any, _forward: Any = module.forward, _index: int = index, **kwargs: Any) -> Any:
            mask = args[_index] if len(args) > _index else None
            if mask is not None and all(kwargs.get(k) is None for k in chunked) and bool(mask.all()):
                args = (*args[:_index], None, *args[_index + 1 :])
            return _forward(*args, **kwargs)

        module.forward = forward


ALONE_FRAMES = 500  # encoder frames (60 ms each): segments of 30 s or more are encoded one at a time


def encode_long_alone(model: Any, frames: int = ALONE_FRAMES) -> None:
    """Encode a batch one segment at a time when it holds a segment of `frames` or more.

    On the CPU a padded batch of 60-s segments encodes ~20 % slower per segment than each alone,
    25-s ones about as fast, 12-20 s ones 5-12 % faster (bench/batching.py). A segment alone is
    encoded exactly as FunASR's own loop encodes it; the outputs are zero-padded into one batch
    for the (masked) predictor and decoder. The batched encoder stays `model.encode_batch`.
    """
    import torch

    encode = model.encode

    def encode_items(speech: Any, speech_lengths: Any, **kwargs: Any) -> Any:
        lengths = speech_lengths.tolist()
        if len(lengths) == 1 or max(lengths) < frames:
            return encode(speech, speech_lengths, **kwargs)
        outs = [encode(speech[i : i + 1, :n], speech_lengths[i : i + 1], **kwargs) for i, n in enumerate(lengths)]
        width = max(out.size(1) for out, _ in outs)
        batch = outs[0][0].new_zeros(len(outs), width, outs[0][0].size(2))
        for i, (out, _) in enumerate(outs):
            batch[i, : out.size(1)] = out[0]
        return batch, torch.cat([out_lens for _, out_lens in outs])

    model.encode_batch = encode
    model.encode = encode_items


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
