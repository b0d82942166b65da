"""The pure-Python half of the engine: batch planning and timed sentences.

Nothing here imports torch or funasr, so task modules loaded by the django-q2
parent process may import it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_RICH_TAG = re.compile(r"<\|[^|]*\|>")
_ASCII_PUNC = {"，": ",", "。": ".", "？": "?", "、": ","}


@dataclass
class Piece:
    """One VAD segment of one file, as the ASR model saw it."""

    file: int
    start_ms: int
    end_ms: int
    samples: Any  # numpy array (a view into the decoded file)
    text: str = ""
    timestamps: list[list[int]] | None = None  # absolute ms, one [start, end] per token

    @property
    def length_ms(self) -> int:
        return self.end_ms - self.start_ms


def plan_batches(lengths_ms: Sequence[int], batch_seconds: float) -> list[list[int]]:
    """Group items into batches by length, shortest first (as FunASR sorts VAD segments).

    A batch's padded size (longest item x count) stays within `batch_seconds`; an item longer
    than that is a batch of its own. Returns lists of indices into `lengths_ms`.
    """
    budget = max(batch_seconds, 0) * 1000
    order = sorted(range(len(lengths_ms)), key=lambda i: lengths_ms[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # sorted ascending, so the newcomer is the longest in the batch
        if current and lengths_ms[i] * (len(current) + 1) > budget:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def join_tokens(tokens: Sequence[str]) -> str:
    """Join ASR tokens the way FunASR joins VAD chunks: no space between two CJK characters."""
    out = ""
    for token in tokens:
        if out and not (_is_cjk(out[-1]) and _is_cjk(token[0])):
            out += " "
        out += token
    return out


def _words(tokens: Sequence[str], stamps: Sequence[Sequence[int]]) -> list[tuple[str, int, int]]:
    """(token, start ms, end ms) per token, when the model timed every token."""
    if len(tokens) != len(stamps):
        return []
    return [(token, int(stamp[0]), int(stamp[1])) for token, stamp in zip(tokens, stamps, strict=True)]


def _sentence(tokens: list[str], mark: str, stamps: list[list[int]]) -> dict[str, Any]:
    text = join_tokens([tokens[0][0].upper() + tokens[0][1:], *tokens[1:]])
    if mark:
        text += _ASCII_PUNC.get(mark, mark) if tokens[-1][-1].isascii() else mark
    return {"start": stamps[0][0], "end": stamps[-1][1], "text": text, "words": _words(tokens, stamps)}


def build_sentences(pieces: Sequence[Piece], punc_ids: Sequence[int] | None,
                    punc_list: Sequence[str] | None) -> list[dict[str, Any]]:
    """Timed sentences for one file, from its pieces in time order and the punctuation of their text.

    Sentences end at punctuation (as FunASR's sentence_info does) and also at every VAD segment
    end, so a sentence never spans a pause. When punctuation and tokens cannot be aligned (or there
    is no punctuation model), each VAD segment is one sentence. Times are in ms; each sentence
    carries its tokens' times as "words" (empty where the model gave none).
    """
    token_lists = [p.text.split() for p in pieces]
    aligned = (
        punc_ids is not None and punc_list is not None
        and len(punc_ids) == sum(len(t) for t in token_lists)
        and all(p.timestamps is not None and len(p.timestamps) == len(t)
                for p, t in zip(pieces, token_lists, strict=True))
    )
    sentences: list[dict[str, Any]] = []
    if not aligned:
        for piece, tokens in zip(pieces, token_lists, strict=True):
            if tokens:
                stamps = piece.timestamps or [[piece.start_ms, piece.end_ms]]
                sentences.append({"start": stamps[0][0], "end": stamps[-1][1], "text": join_tokens(tokens),
                                  "words": _words(tokens, piece.timestamps or [])})
        return sentences
    assert punc_ids is not None and punc_list is not None
    cursor = 0
    for piece, tokens in zip(pieces, token_lists, strict=True):
        stamps = piece.timestamps or []
        begin = 0
        for i in range(len(tokens)):
            mark = punc_list[int(punc_ids[cursor + i])]
            if mark in ("_", "<unk>"):
                continue
            sentences.append(_sentence(tokens[begin:i + 1], mark, stamps[begin:i + 1]))
            begin = i + 1
        if begin < len(tokens):
            sentences.append(_sentence(tokens[begin:], "", stamps[begin:]))
        cursor += len(tokens)
    return sentences


def strip_tags(text: str) -> str:
    return _RICH_TAG.sub("", text).strip()
