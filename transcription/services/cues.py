"""Splitting a long subtitle cue at word boundaries, with the model's word times."""

from __future__ import annotations

import re
from collections.abc import Sequence

_BREAK = re.compile(r"(?<=[，。？！；：、,.?!;:])|(?<= )")


def word_spans(text: str, words: Sequence[Sequence]) -> list[tuple[int, int, float, float]] | None:
    """Where each word lies in ``text`` ((begin, end) offsets with its times);
    punctuation after a word belongs to it. None when the words do not spell the text."""
    spans, pos = [], 0
    lowered = text.lower()
    for word, start, end in words:
        found = lowered.find(str(word).lower(), pos)
        if found < 0 or text[pos:found].strip(" ，。？！；：、,.?!;:\"'“”‘’"):
            return None
        if spans:  # the gap (spaces, punctuation) goes with the word before
            spans[-1] = (spans[-1][0], found, spans[-1][2], spans[-1][3])
        spans.append((found, found + len(str(word)), float(start), float(end)))
        pos = found + len(str(word))
    if not spans:
        return None
    spans[0] = (0, *spans[0][1:])
    spans[-1] = (spans[-1][0], len(text), spans[-1][2], spans[-1][3])
    return spans


def split_cue(text: str, start: float, end: float, words: Sequence[Sequence],
              max_chars: int) -> list[tuple[str, float, float]]:
    """(text, start, end) pieces of at most ``max_chars`` characters where a
    word allows: cut between words, timed by the words; without usable word
    times, cut at spaces and punctuation and share the time by length."""
    if not max_chars or len(text) <= max_chars:
        return [(text, start, end)]
    spans = word_spans(text, words)
    if spans is not None:
        pieces, first = [], 0
        for i in range(1, len(spans) + 1):
            last = i == len(spans)
            if last or spans[i][1] - spans[first][0] > max_chars:
                begin, stop = spans[first][0], spans[i - 1][1]
                pieces.append((text[begin:stop].strip(), spans[first][2] if first else start,
                               end if last else spans[i - 1][3]))
                first = i
        return [p for p in pieces if p[0]]
    parts, current = [], ""
    for chunk in _BREAK.split(text):
        if current and len(current) + len(chunk) > max_chars:
            parts.append(current)
            current = ""
        current += chunk
    parts.append(current)
    total = sum(len(p) for p in parts) or 1
    pieces, t = [], start
    for part in parts:
        share = (end - start) * len(part) / total
        pieces.append((part.strip(), t, t + share))
        t += share
    return [p for p in pieces if p[0]]
