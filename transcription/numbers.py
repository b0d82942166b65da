"""Numbers as digits: inverse text normalisation of Chinese with
WeTextProcessing ("二零二四年三月五日" → "2024年3月5日", "百分之十五" → "15%").

The grammar is WeTextProcessing's, built once per machine into
DATA_DIR/itn-<version> with interjections kept (its shipped build drops
"嗯", "啊": not what a transcript may do). Its tokens are written the way
Chinese text writes them (``transcription.itn_tokens``), each on its own.

The grammar's cost grows faster than the text, so text goes to it in
pieces: split at punctuation and spaces, and a piece longer than
``MAX_CHUNK`` cut where no number is near. A stretch with no such place
(thousands of numerals in a row) is kept as it was said: bounded time and
memory for any input, never a hung worker.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from functools import cache, lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from transcription.itn_tokens import write_tokens

if TYPE_CHECKING:
    from itn.chinese.inverse_normalizer import InverseNormalizer

log = logging.getLogger(__name__)

_NUMERALS = frozenset("零〇一二三四五六七八九十百千万亿两幺壹贰叁肆伍陆柒捌玖拾佰仟")
MAX_CHUNK = 80  # characters the grammar gets at once
_NEAR = 4  # a cut has no numeral this close on either side (units, 下午, 百分之 stay with their number)
_SEPARATORS = re.compile(r"([\s，。！？；：、,!?;]+)")


@cache
def _normalizer() -> InverseNormalizer:
    # imported here: pynini and the grammar load only once a transcript has Chinese numerals
    from itn.chinese.inverse_normalizer import InverseNormalizer

    logging.getLogger("wetext").setLevel(logging.WARNING)  # it logs every cache lookup at INFO
    target = Path(settings.DATA_DIR) / f"itn-{version('WeTextProcessing')}"
    if not (target / "zh_itn_tagger.fst").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="itn-", dir=target.parent))
        InverseNormalizer(cache_dir=str(staging), overwrite_cache=True, remove_interjections=False)
        try:
            staging.rename(target)  # atomic: a process building at the same time keeps its own copy
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("built the Chinese number grammar into %s", target)
    return InverseNormalizer(cache_dir=str(target), overwrite_cache=False, remove_interjections=False)


def has_numerals(text: str) -> bool:
    return any(ch in _NUMERALS for ch in text)


def _cuts(piece: str) -> Iterator[tuple[str, bool]]:
    """``piece`` in chunks of at most ``MAX_CHUNK``, each with whether it may be normalised."""
    before = [0]
    for ch in piece:
        before.append(before[-1] + (ch in _NUMERALS))

    def free(i: int) -> bool:
        return before[min(len(piece), i + _NEAR)] == before[max(0, i - _NEAR)]

    start = 0
    while len(piece) - start > MAX_CHUNK:
        cut = next((i for i in range(start + MAX_CHUNK, start, -1) if free(i)), None)
        if cut is None:  # too many numerals in a row: left as said, up to the next free place
            cut = next((i for i in range(start + MAX_CHUNK, len(piece)) if free(i)), len(piece))
            yield piece[start:cut], False
        else:
            yield piece[start:cut], True
        start = cut
    yield piece[start:], True


@lru_cache(maxsize=20_000)
def _chunk_digits(chunk: str) -> str:
    if not has_numerals(chunk):
        return chunk
    normalizer = _normalizer()
    try:
        return write_tokens(chunk, normalizer.tag(chunk), normalizer.verbalize)
    except Exception:  # the grammar or its parser on odd input: the text stays as said
        log.exception("could not write the numbers of %r as digits", chunk[:80])
        return chunk


@lru_cache(maxsize=50_000)
def to_digits(text: str) -> str:
    """``text`` with its Chinese numbers written as digits; text without
    numerals comes back untouched."""
    if not text or not has_numerals(text):
        return text
    out = []
    for i, part in enumerate(_SEPARATORS.split(text)):
        if i % 2:  # a separator
            out.append(part)
        else:
            out.extend(_chunk_digits(chunk) if ok else chunk for chunk, ok in _cuts(part))
    return "".join(out)
