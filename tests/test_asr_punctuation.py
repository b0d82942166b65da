"""Punctuation batched across files: every text comes out as FunASR's CT-Transformer punctuates it
alone, including texts long enough to carry words from one mini-sentence into the next."""

from __future__ import annotations

import random

import torch

from tests import tiny_models as builder
from transcription.asr.pipeline import join_tokens
from transcription.asr.punctuation import punctuate_many


def _texts(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = [w for w in builder.PUNC_TOKENS if not w.startswith("<")]
    lengths = [1, 2, 3, 19, 20, 21, 39, 40, 41, 77, 150, 260, 400]
    return [join_tokens(rng.choices(words, k=rng.choice(lengths))) for _ in range(count)]


def test_it_punctuates_texts_together_as_each_alone(engine):
    model, kwargs = engine._am.punc_model, engine._am.punc_kwargs
    texts = [*_texts(40), "", "   "]
    with torch.inference_mode():
        alone = [engine._am.inference(text, model=model, kwargs=kwargs)[0] for text in texts]
        together = punctuate_many(model, kwargs, texts)
    for text, reference, (marked, ids) in zip(texts, alone, together, strict=True):
        expected_ids = None if reference.get("punc_array") is None else [int(x) for x in reference["punc_array"]]
        assert (marked, ids) == (reference["text"], expected_ids), text
    assert sum(len(t.split()) > 200 for t in texts) >= 3  # long texts: carries and cut-offs at commas
