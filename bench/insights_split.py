"""How a long transcript is split for the language model: a synthetic 3-hour meeting (2,160
segments of 5 s, three speakers taking turns) against several context sizes, with the largest
request's estimate (prompt + the answer's allowance) and the time the split takes. No model is
called. Run: DJANGO_SETTINGS_MODULE=tests.settings python bench/insights_split.py"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from transcription.llm.config import LlmConfig  # noqa: E402
from transcription.llm.prompts import Line, map_messages  # noqa: E402
from transcription.llm.runner import _Plan, sections  # noqa: E402
from transcription.llm.tokens import estimate_messages  # noqa: E402

SENTENCES = ["We need to review the quarterly numbers before the board meeting next week.",
             "I think the marketing budget is too high compared with last year.",
             "Let us agree that Bob prepares the slides and Alice checks the figures.",
             "客户对试点的反馈大多是正面的，也有一些投诉需要跟进。"]


def main() -> None:
    lines = [Line(i, i * 5.0, i * 5.0 + 4.5, f"spk{(i // 3) % 3}", SENTENCES[i % 4]) for i in range(2160)]
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| context | parts | largest request (estimated tokens) | split time |")
    print("|---|---|---|---|")
    for context in (2048, 4096, 8192, 32768, 131072):
        config = LlmConfig("http://model/v1", "", "m", context, 300, 2, 3, 2, 1024)
        plan = _Plan(kind="summary", language="en", instruction="", context=context, scale=1.0)
        started = time.perf_counter()
        parts = sections(lines, plan.line_budget(config))
        took = time.perf_counter() - started
        largest = max(estimate_messages(map_messages("summary", part, language="en", part=1, parts=len(parts)))
                      + plan.output_tokens(config) for part in parts)
        print(f"| {context} | {len(parts)} | {largest} | {took * 1000:.0f} ms |")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
