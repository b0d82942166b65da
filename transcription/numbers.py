"""Numbers as digits: inverse text normalisation of Chinese with
WeTextProcessing ("二零二四年三月五日" → "2024年3月5日", "百分之十五" → "15%").

The grammar is WeTextProcessing's, built once per machine into
DATA_DIR/itn-<version> with interjections kept (its shipped build drops
"嗯", "啊": not what a transcript may do); dates and clock times are then
written the way Chinese text writes them rather than its "2024/03/05" and
"3:30p.m.".
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from functools import cache, lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from itn.chinese.inverse_normalizer import InverseNormalizer

log = logging.getLogger(__name__)

_NUMERALS = frozenset("零〇一二三四五六七八九十百千万亿两幺壹贰叁肆伍陆柒捌玖拾佰仟")
_FULL_DATE = re.compile(r"(?<![\d/])(\d{4})/(\d{2})/(\d{2})(?![\d/])")
_MONTH_DAY = re.compile(r"(?<![\d/])(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])(?![\d/])")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(a\.m\.|p\.m\.)")


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


def _style(text: str) -> str:
    text = _FULL_DATE.sub(lambda m: f"{m[1]}年{int(m[2])}月{int(m[3])}日", text)
    text = _MONTH_DAY.sub(lambda m: f"{int(m[1])}月{int(m[2])}日", text)
    return _CLOCK.sub(lambda m: f"{'上午' if m[3] == 'a.m.' else '下午'}{int(m[1])}:{m[2]}", text)


@lru_cache(maxsize=50_000)
def to_digits(text: str) -> str:
    """``text`` with its Chinese numbers written as digits; text without
    numerals comes back untouched."""
    if not text or not has_numerals(text):
        return text
    return _style(_normalizer().normalize(text))
