"""The engine's shortcuts through FunASR's Paraformer (the predictor without its unused upsampling,
the CIF loops in numpy, attention without masks that mask nothing, long segments encoded alone)
against an AutoModel that nothing has touched: the same bits, and the same text and token
timestamps as FunASR's own loop."""

from __future__ import annotations

import pytest
import torch
from funasr import AutoModel
from funasr.models.bicif_paraformer import cif_predictor
from funasr.models.bicif_paraformer.model import BiCifParaformer

from tests.asr_fixtures import noise_bursts
from transcription.asr import paraformer
from transcription.asr.audio import decode
from transcription.asr.engine import Engine


@pytest.fixture(scope="module")
def pristine(engine: Engine) -> AutoModel:
    """FunASR's own pipeline on the engine's models, with none of the engine's changes."""
    return AutoModel(model=str(engine.sources["asr"].path), vad_model=str(engine.sources["vad"].path),
                     punc_model=str(engine.sources["punc"].path), device="cpu", ncpu=1, disable_update=True,
                     disable_pbar=True, disable_log=True, log_level="ERROR")


def _encoder_batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(len(lengths), max(lengths), 560, generator=generator)
    for i, n in enumerate(lengths):
        features[i, n:] = 0
    return features, torch.tensor(lengths)


def test_it_predicts_tokens_as_funasrs_predictor_does_bit_for_bit(engine, pristine):
    model, reference = engine._am.model, pristine.model
    assert paraformer._predictor_without_upsampling(reference) is not None
    with torch.inference_mode():
        for n in (40, 17, 300):
            encoder_out, lens = reference.encode(*_encoder_batch([n], seed=n))
            ours, theirs = model.calc_predictor(encoder_out, lens), reference.calc_predictor(encoder_out, lens)
            assert len(ours) == len(theirs) == 4
            assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True)), n


def _alphas(batch: int, frames: int, seed: int) -> torch.Tensor:
    """CIF weights as a predictor makes them: random, an item padded with zeros, and an item
    whose weights sum to exactly the threshold at every fourth frame."""
    generator = torch.Generator().manual_seed(seed)
    alphas = torch.rand(batch, frames, generator=generator) * 0.6
    alphas[0, frames // 2 :] = 0
    alphas[-1, :] = 0.25
    return alphas


def test_it_runs_the_cif_loops_as_funasrs_do_bit_for_bit():
    tokens = 0
    for batch, frames in ((1, 1), (2, 333), (3, 120)):
        alphas = _alphas(batch, frames, seed=frames)
        hidden = torch.randn(batch, frames, 16, generator=torch.Generator().manual_seed(batch))
        ours, theirs = paraformer.cif(hidden, alphas, 1.0), cif_predictor.cif(hidden, alphas, 1.0)
        assert ours[0].shape == theirs[0].shape
        tokens += ours[0].shape[1]
        assert torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1]), (batch, frames)
        for threshold in (1.0 - 1e-4, 1.0):
            assert torch.equal(paraformer.cif_fires(alphas, threshold),
                               cif_predictor.cif_wo_hidden(alphas, threshold)), (batch, frames, threshold)
    assert tokens > 50


def test_it_times_tokens_as_funasrs_timestamp_head_does_bit_for_bit(engine, pristine):
    model, reference = engine._am.model, pristine.model
    assert "get_upsample_timestamp" in vars(model.predictor)  # the numpy loops are in use
    with torch.inference_mode():
        for n in (40, 300):
            encoder_out, lens = reference.encode(*_encoder_batch([n], seed=n))
            token_num = reference.calc_predictor(encoder_out, lens)[1]
            ours = model.calc_predictor_timestamp(encoder_out, lens, token_num)
            theirs = reference.calc_predictor_timestamp(encoder_out, lens, token_num)
            assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True)), n


def test_it_encodes_as_funasrs_encoder_does_bit_for_bit(engine, pristine):
    model, reference = engine._am.model, pristine.model
    with torch.inference_mode():
        for lengths in ([64], [64, 64], [64, 40], [600], [610, 520, 70]):  # 500+ frames: encoded alone
            features, lens = _encoder_batch(lengths, seed=len(lengths))
            ours, our_lens = model.encode(features, lens)
            assert our_lens.tolist() == lengths
            for i, n in enumerate(lengths):
                alone, _ = reference.encode(features[i : i + 1, :n], lens[i : i + 1])
                if len(lengths) == 1 or max(lengths) >= paraformer.ALONE_FRAMES:
                    assert torch.equal(ours[i, :n], alone[0]), (lengths, i)
                else:  # a batch: other matrix shapes, equal to float rounding
                    assert torch.allclose(ours[i, :n], alone[0], atol=1e-5), (lengths, i)


def test_it_transcribes_long_and_short_segments_as_funasrs_own_loop(engine, pristine, speech):
    audios = [noise_bursts(3, 75, long_run=40), noise_bursts(7, 50, long_run=33), decode(speech[0])]
    prepared = [engine.prepare(a) for a in audios]
    assert max(end - start for p in prepared for start, end in p.speech_ms) >= 30_000  # long ones go alone
    for audio, detailed in zip(audios, engine.recognize_detailed(prepared), strict=True):
        plain = pristine.generate(input=audio, batch_size_s=300)
        text, stamps = (plain[0]["text"], plain[0]["timestamp"]) if plain else ("", [])
        assert detailed.result.text and (detailed.result.text, detailed.timestamps) == (text, stamps)


def test_it_keeps_the_masks_of_a_padded_batch(engine):
    seen: list[bool] = []
    attention = next(m for m in engine._am.model.encoder.modules() if hasattr(m, "forward_fsmn"))
    forward_attention = attention.forward_attention

    def spy(value, scores, mask, *args, **kwargs):
        seen.append(mask is not None)
        return forward_attention(value, scores, mask, *args, **kwargs)

    attention.forward_attention = spy
    try:
        with torch.inference_mode():
            engine._am.model.encode(*_encoder_batch([30]))
            engine._am.model.encode(*_encoder_batch([30, 20]))
    finally:
        del attention.forward_attention
    assert seen == [False, True]


def test_a_batch_predicts_each_item_as_it_would_alone_bit_for_bit():
    """At the real model's width the predictor's 512 -> 1 output layer, given a whole batch, rounds
    differently from one item alone (it flipped a token on a 10-minute file); the batch must give
    every item the tokens it gets alone, whatever its padding holds."""
    torch.manual_seed(0)
    real_size = cif_predictor.CifPredictorV3(
        idim=512, l_order=1, r_order=1, threshold=1.0, tail_threshold=0.45, smooth_factor2=0.25,
        noise_threshold2=0.01, upsample_times=3, use_cif1_cnn=False, upsample_type="cnn_blstm").eval()
    model = BiCifParaformer.__new__(BiCifParaformer)
    torch.nn.Module.__init__(model)
    model.predictor = real_size
    paraformer.mask_batch_padding(model)
    lengths = [180, 151, 120, 37]
    encoder_out = torch.randn(len(lengths), max(lengths), 512, generator=torch.Generator().manual_seed(1))
    lens = torch.tensor(lengths)
    with torch.inference_mode():
        embeds, token_num, _alphas, _peaks = model.calc_predictor(encoder_out, lens)
        for i, n in enumerate(lengths):
            alone_embeds, alone_tokens, _a, _p = model.calc_predictor(encoder_out[i : i + 1, :n], lens[i : i + 1])
            count = alone_embeds.size(1)
            assert count > 10 and torch.equal(token_num[i], alone_tokens[0]), i
            assert torch.equal(embeds[i, :count], alone_embeds[0]) and not embeds[i, count:].any(), i
