"""Token estimates without the served model's tokenizer (tiktoken cannot fetch its encodings
offline, and the served model is whatever the operator runs). Deliberately generous: about 3 Latin
characters per token and 1.5 tokens per CJK character, plus a margin, so an estimate that passes is
very likely to fit. The server's own overflow answer is the backstop (see runner.py)."""

from __future__ import annotations

import math
import re

_CJK = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
MESSAGE_OVERHEAD = 8  # role markers and separators per chat message


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def estimate_tokens(text: str) -> int:
    cjk = cjk_count(text)
    other = len(text) - cjk
    return math.ceil((cjk * 1.5 + other / 3.0) * 1.1)


def estimate_messages(messages: list[dict[str, str]]) -> int:
    return sum(estimate_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)


def mostly_cjk(text: str) -> bool:
    letters = sum(1 for ch in text if ch.isalpha())
    return letters > 0 and cjk_count(text) / letters > 0.3
