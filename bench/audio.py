"""Speech for the benchmarks: espeak-ng sentences (Mandarin and English, with pauses), as files of any length.

Every file is cut from one small bank of clips (`BANK_CLIPS` per language, ~30 s each, 8 sentences with
pauses of 0.2-1.6 s), chosen and ordered by the file's seed. The bank is made once, with espeak-ng and
sox, into .cache/bench-audio/bank as 16-kHz 16-bit FLAC (~5 MB): lossless, so every machine that decodes
it gets the same samples, and small enough to travel to a machine without espeak-ng (the GPU machine:
bench/device.sh), where a 1-hour file is built from it without making any audio.
"""

from __future__ import annotations

import functools
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transcription.asr.audio import SAMPLE_RATE, decode  # noqa: E402

BANK = ROOT / ".cache" / "bench-audio" / "bank"
BANK_CLIPS = 4

_ZH = ("今天 我们 讨论 一下 项目 的 进度 会议 客户 需要 明天 提交 报告 数据 分析 结果 非常 重要 "
       "大家 觉得 这个 方案 可以 问题 已经 解决 时间 安排 下周 继续 产品 用户 反馈 团队 完成")
_EN = ("the team will review the project status and the customer needs a report by tomorrow "
       "we think this plan works because the data shows clear results for every user")
ZH_WORDS, EN_WORDS = _ZH.split(), _EN.split()


def _make_clip(path: Path, *, zh: bool, seed: int) -> None:
    rng = random.Random(seed)
    sentences = []
    for _ in range(8):
        words = rng.choices(ZH_WORDS if zh else EN_WORDS, k=rng.randint(4, 14))
        pause = rng.randint(200, 1600)
        sentences.append(("".join(words) if zh else " ".join(words)) + f'<break time="{pause}ms"/>')
    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        subprocess.run(["espeak-ng", "-m", "-v", "cmn" if zh else "en", "-s", str(rng.randint(140, 190)),
                        "-w", wav.name, "<speak>" + " ".join(sentences) + "</speak>"], check=True)
        partial = path.with_suffix(".part.flac")
        subprocess.run(["sox", wav.name, "-r", str(SAMPLE_RATE), "-b", "16", "-c", "1", str(partial)], check=True)
        partial.rename(path)


@functools.cache
def bank_clip(zh: bool, k: int) -> np.ndarray:
    """Clip k of one language's bank, as float32 samples (made on first use where espeak-ng is)."""
    path = BANK / f"{'zh' if zh else 'en'}-{k}.flac"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        _make_clip(path, zh=zh, seed=(1 if zh else 2) * 1000 + k)
    samples = decode(str(path))
    samples.setflags(write=False)
    return samples


def speech(seconds: float, seed: int) -> np.ndarray:
    """`seconds` of speech in the language of the seed's parity (even: Mandarin), bank clips in the
    seed's order, each clip at most once in a row, cut at `seconds`."""
    rng = random.Random(seed)
    zh = seed % 2 == 0
    parts: list[np.ndarray] = []
    total, last = 0, -1
    while total < seconds * SAMPLE_RATE:
        k = rng.choice([i for i in range(BANK_CLIPS) if i != last])
        parts.append(bank_clip(zh, k))
        total += len(parts[-1])
        last = k
    return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)]


def bank_ready() -> list[Path]:
    """Make the whole bank (for carrying it to another machine); its files."""
    for zh in (True, False):
        for k in range(BANK_CLIPS):
            bank_clip(zh, k)
    return sorted(BANK.glob("*.flac"))


if __name__ == "__main__":
    files = bank_ready()
    print(f"{len(files)} clips, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB in {BANK}")
