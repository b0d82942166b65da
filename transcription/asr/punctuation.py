"""CT-Transformer punctuation for many texts at once, each text punctuated as it would be alone.

FunASR's `CTTransformer.inference` takes one text, cuts it into mini-sentences of `split_size`
words and runs the model once per mini-sentence, carrying the words after the last sentence end
into the next one. So a file's calls depend on each other, but different files' calls do not.
`punctuate_many` runs that same loop (below, line for line, as a generator that hands out each
mini-sentence's token ids) for all texts side by side, and answers step k of every text with one
padded forward pass. The encoder masks the padding (attention masks, and the SAN-M memory
zeroes padded frames before its convolution), so each row equals its forward pass alone.

torch and funasr are imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import copy
from collections.abc import Generator, Sequence
from typing import Any

import numpy as np

_CACHE_POP_TRIGGER_LIMIT = 200  # as in CTTransformer.inference
Steps = Generator[np.ndarray, list[int], tuple[str, list[int] | None]]


def _steps(model: Any, tokenizer: Any, text: str, split_size: int) -> Steps:
    """CTTransformer.inference (funasr 1.4.16) for one text; yields ids, is sent their punctuation."""
    from funasr.models.ct_transformer.utils import split_to_mini_sentence, split_words

    punc_list = model.punc_list
    tokens = split_words(text, jieba_usr_dict=model.jieba_usr_dict)
    tokens_int = tokenizer.encode(tokens)
    mini_sentences = split_to_mini_sentence(tokens, split_size)
    mini_sentences_id = split_to_mini_sentence(tokens_int, split_size)
    assert len(mini_sentences) == len(mini_sentences_id)
    cache_sent: list[str] = []
    cache_sent_id = np.array([], dtype="int32")
    new_mini_sentence = ""
    new_mini_sentence_out = ""
    punc_array: list[int] | None = None
    for mini_sentence_i in range(len(mini_sentences)):
        mini_sentence = cache_sent + mini_sentences[mini_sentence_i]
        mini_sentence_id = np.concatenate((cache_sent_id, mini_sentences_id[mini_sentence_i]), axis=0)
        punctuations = yield mini_sentence_id
        assert len(punctuations) == len(mini_sentence)
        if mini_sentence_i < len(mini_sentences) - 1:
            sentence_end = -1
            last_comma_index = -1
            for i in range(len(punctuations) - 2, 1, -1):
                if punc_list[punctuations[i]] in ("。", "？"):
                    sentence_end = i
                    break
                if last_comma_index < 0 and punc_list[punctuations[i]] == "，":
                    last_comma_index = i
            if sentence_end < 0 and len(mini_sentence) > _CACHE_POP_TRIGGER_LIMIT and last_comma_index >= 0:
                # the sentence is too long: cut it at a comma
                sentence_end = last_comma_index
                punctuations[sentence_end] = model.sentence_end_id
            cache_sent = mini_sentence[sentence_end + 1 :]
            cache_sent_id = mini_sentence_id[sentence_end + 1 :]
            mini_sentence = mini_sentence[0 : sentence_end + 1]
            punctuations = punctuations[0 : sentence_end + 1]
        words_with_punc = []
        for i in range(len(mini_sentence)):
            ascii_word = len(mini_sentence[i][0].encode()) == 1
            if (i == 0 or punc_list[punctuations[i - 1]] in ("。", "？")) and ascii_word:
                mini_sentence[i] = mini_sentence[i].capitalize()
            if i == 0 and ascii_word:
                mini_sentence[i] = " " + mini_sentence[i]
            if i > 0 and ascii_word and len(mini_sentence[i - 1][0].encode()) == 1:
                mini_sentence[i] = " " + mini_sentence[i]
            words_with_punc.append(mini_sentence[i])
            if punc_list[punctuations[i]] != "_":
                punc_res = punc_list[punctuations[i]]
                if len(mini_sentence[i][0].encode()) == 1:
                    punc_res = {"，": ",", "。": ".", "？": "?"}.get(punc_res, punc_res)
                words_with_punc.append(punc_res)
        new_mini_sentence += "".join(words_with_punc)
        new_mini_sentence_out = new_mini_sentence
        if mini_sentence_i == len(mini_sentences) - 1:  # end the text with a sentence end
            last = new_mini_sentence[-1]
            ended = True
            if last in ("，", "、"):
                new_mini_sentence_out = new_mini_sentence[:-1] + "。"
            elif last == ",":
                new_mini_sentence_out = new_mini_sentence[:-1] + "."
            elif last not in ("。", "？") and len(last.encode()) != 1:
                new_mini_sentence_out = new_mini_sentence + "。"
            elif last not in (".", "?") and len(last.encode()) == 1:
                new_mini_sentence_out = new_mini_sentence + "."
            else:
                ended = False
            if ended and len(punctuations):
                punctuations[-1] = model.sentence_end_id
        punc_array = (punc_array or []) + list(punctuations)
    if model.jieba_usr_dict is not None and punc_array is not None:
        new_punc_array = copy.copy(punc_array)
        for i, token in enumerate(tokens[::-1]):
            if "\u0e00" <= token[0] <= "\u9fa5" and len(token) > 1:  # word-level model: one mark per character
                for _ in range(len(token) - 1):
                    new_punc_array.insert(len(tokens) - i - 1, 1)
        punc_array = new_punc_array
    return new_mini_sentence_out, punc_array


def _forward(model: Any, ids: Sequence[np.ndarray], device: str) -> list[list[int]]:
    """One padded forward pass; the top punctuation of every real (unpadded) token of each row."""
    import torch

    lengths = [len(x) for x in ids]
    text = torch.zeros((len(ids), max(lengths)), dtype=torch.int64)
    for row, x in enumerate(ids):
        text[row, : len(x)] = torch.from_numpy(np.asarray(x, dtype=np.int64))
    y, _ = model.punc_forward(text=text.to(device), text_lengths=torch.tensor(lengths, dtype=torch.int32).to(device))
    out = []
    for row, n in enumerate(lengths):
        _, indices = y[row, :n].topk(1, dim=1)
        out.append(indices.squeeze(1).tolist())
    return out


def punctuate_many(model: Any, kwargs: dict[str, Any], texts: Sequence[str]) -> list[tuple[str, list[int] | None]]:
    """(punctuated text, punctuation id per token) for each text, as CTTransformer.inference gives."""
    results: list[tuple[str, list[int] | None]] = [("", None)] * len(texts)
    running: dict[int, tuple[Steps, np.ndarray]] = {}
    split_size = kwargs.get("split_size", 20)
    for i, text in enumerate(texts):
        if text.strip():
            steps = _steps(model, kwargs["tokenizer"], text, split_size)
            running[i] = (steps, next(steps))
    while running:
        order = list(running)
        answers = _forward(model, [running[i][1] for i in order], kwargs["device"])
        for i, answer in zip(order, answers, strict=True):
            steps = running[i][0]
            try:
                running[i] = (steps, steps.send(answer))
            except StopIteration as done:
                results[i] = done.value
                del running[i]
    return results
