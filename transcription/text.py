"""Text rules shared by the engine, transcripts, exports, search and pages:
what counts as CJK, how pieces of text are joined, how times read, and
Chinese script conversion. One place each, so a transcript reads the same
wherever it is shown."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from opencc import OpenCC

# Full-width punctuation carries its own spacing: no space is put next to it.
FULL_WIDTH_PUNCTUATION = frozenset("，。？！：；、（）【】「」『』“”‘’《》…～—　")


def is_cjk(char: str) -> bool:
    """A Chinese, Japanese or Korean character, or full-width punctuation."""
    if not char:
        return False
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FFFF
            or 0xF900 <= code <= 0xFAFF or 0x3040 <= code <= 0x30FF or 0xAC00 <= code <= 0xD7AF
            or char in FULL_WIDTH_PUNCTUATION)


def needs_space(left: str, right: str) -> bool:
    """Whether a space goes between text ending in ``left`` and text starting
    with ``right``: none between two CJK characters or next to full-width
    punctuation, one otherwise ("你好 world", "你好。World", "hello world")."""
    if not left or not right or left.isspace() or right.isspace():
        return False
    if left in FULL_WIDTH_PUNCTUATION or right in FULL_WIDTH_PUNCTUATION:
        return False
    return not (is_cjk(left) and is_cjk(right))


def join_texts(parts: Iterable[str]) -> str:
    """Join pieces of text (segments, tokens) by the rule of ``needs_space``."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and needs_space(out[-1], part[0]):
            out += " "
        out += part
    return out


def clock(seconds: float | None, *, hours: bool = False) -> str:
    """1:02 or 1:02:03 (``hours``: always 00:01:02) from seconds. Whole
    seconds are floored, as media players show them; None reads "—"."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if hours:
        return f"{h:02d}:{m:02d}:{s:02d}"
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@cache
def _opencc(config: str) -> OpenCC:
    return OpenCC(config)


def to_simplified(text: str) -> str:
    return _opencc("t2s").convert(text)


def to_traditional(text: str) -> str:
    return _opencc("s2t").convert(text)


_UNIT = re.compile(r"[\u3400-\u9fff]|[^\W_]+(?:'[^\W_]+)*")


def error_units(text: str) -> list[str]:
    """What an error rate counts: each Chinese character (in Simplified form) and each word
    elsewhere, lower-cased, without punctuation; so a Chinese text is scored by character (CER) and
    an English one by word (WER), with one rule for both."""
    text = to_simplified(unicodedata.normalize("NFKC", text)).lower()
    return [unit.replace("'", "") for unit in _UNIT.findall(text)]
