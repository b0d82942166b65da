"""Numbers as digits (ITN): time and peak memory, before and after the input was cut into chunks.

"before" is what the portal did up to issue 23: the whole segment through WeTextProcessing in one
call. "after" is ``transcription.numbers.to_digits``: pieces split at punctuation and spaces, cut at
``MAX_CHUNK`` where no number is near, a run of numerals beyond that kept as said. Each case runs in
its own process with the grammar loaded and warm; peak memory is the rise of the process's peak RSS
over its RSS before the case.

    .venv/bin/python bench/itn_bench.py            # all cases, both sides
    .venv/bin/python bench/itn_bench.py --quick    # the smaller cases only
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

_DIGITS = "零一二三四五六七八九"
_TEMPLATES = ("{d}月{d2}日下午{d}点半开会", "预算增加百分之{n}", "合同金额{n}万元", "电话是{phone}",
              "第{n}届大会", "我们讨论一下这个方案的进度", "大概{n}个人参加", "{year}年的收入是{n}亿元")


def _cn(n: int) -> str:
    """A number under 10,000 as said in Chinese."""
    if n < 10:
        return _DIGITS[n]
    out, zero = "", False
    for size, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, size)
        if digit:
            said = "" if size == 10 and digit == 1 and not out else _DIGITS[digit]  # 十二, not 一十二
            out += ("零" if zero and out else "") + said + unit
            zero = False
        elif out:
            zero = True
    return out


def _meeting(chars: int, *, punctuated: bool, seed: int) -> str:
    rng, out = random.Random(seed), ""
    while len(out) < chars:
        out += rng.choice(_TEMPLATES).format(
            d=_cn(rng.randint(1, 9)), d2=_cn(rng.randint(10, 28)), n=_cn(rng.randint(11, 9999)),
            phone="".join(rng.choice(_DIGITS) for _ in range(11)),
            year="".join(rng.choice(_DIGITS) for _ in range(4)))
        out += "，" if punctuated else ""
    return out[:chars]


CASES = {
    "10,000 numerals in a row": lambda: "".join(random.Random(1).choice(_DIGITS) for _ in range(10_000)),
    "10,000-character meeting text, punctuated": lambda: _meeting(10_000, punctuated=True, seed=2),
    "2,000 characters of meeting text, no punctuation": lambda: _meeting(2_000, punctuated=False, seed=3),
    "200 ordinary segments (40 characters each)": lambda: [_meeting(40, punctuated=True, seed=s) for s in range(200)],
}
QUICK = ("2,000 characters of meeting text, no punctuation", "200 ordinary segments (40 characters each)")


def _rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def _one(case: str, side: str) -> dict:
    import django

    django.setup()
    from transcription import numbers

    normalizer = numbers._normalizer()
    normalizer.normalize("三十")  # warm
    inputs = CASES[case]()
    texts = inputs if isinstance(inputs, list) else [inputs]
    run = (lambda t: normalizer.normalize(t)) if side == "before" else numbers.to_digits
    rss = _rss_kb()
    start = time.perf_counter()
    outputs = [run(t) for t in texts]
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"wall_s": round(wall, 3), "peak_rise_mb": round(max(0, peak - rss) / 1024, 1),
            "chars_in": sum(map(len, texts)), "chars_out": sum(map(len, outputs))}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(_one(sys.argv[2], sys.argv[3])))
        return
    cases = QUICK if "--quick" in sys.argv else tuple(CASES)
    print(f"load average at the start: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")
    print("| case | before: wall / peak memory rise | after: wall / peak memory rise | characters in -> out (after) |")
    print("|---|---|---|---|")
    for case in cases:
        row = {}
        for side in ("before", "after"):
            done = subprocess.run([sys.executable, __file__, "--one", case, side], capture_output=True, text=True,
                                  check=True, cwd=ROOT, timeout=900)
            row[side] = json.loads(done.stdout.strip().splitlines()[-1])
        b, a = row["before"], row["after"]
        print(f"| {case} | {b['wall_s']} s / {b['peak_rise_mb']} MB | {a['wall_s']} s / {a['peak_rise_mb']} MB "
              f"| {a['chars_in']} -> {a['chars_out']} |", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")


if __name__ == "__main__":
    main()
