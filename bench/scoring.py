"""Word and character error rates against reference texts, with one normalisation for both sides:
case and punctuation dropped, Chinese in Simplified characters (OpenCC t2s) and scored per
character, everything else per word. The edit distance is Kaldi's (kaldialign, requirements-dev.txt).

`REFERENCES` are the real clips in ../shared/speech/ that have a reference text.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kaldialign import edit_distance

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transcription.text import to_simplified  # noqa: E402

SPEECH = ROOT.parent / "shared" / "speech"
REFERENCES = {
    "aishell-BAC009S0724W0121.wav": ("zh", "广州市房地产中介协会分析"),
    "funasr-asr_example.wav": ("zh", "欢迎大家来体验达摩院推出的语音识别模型"),
    "librispeech-1995-1837-0001.wav": ("en", "it was the first great sorrow of his life it was not so much the loss of "
                                             "the cotton itself but the fantasy the hopes the dreams built around it"),
}


def units(text: str, language: str) -> list[str]:
    """The scored units of a text: Chinese characters (Simplified), or lower-case words."""
    text = unicodedata.normalize("NFKC", text)
    if language in ("zh", "yue"):
        return [ch for ch in to_simplified(text) if ch.isalnum()]
    return re.sub(r"[^\w\s']", " ", text.lower()).replace("'", "").split()


@dataclass
class Score:
    errors: int = 0
    units: int = 0

    def add(self, reference: str, hypothesis: str, language: str) -> Score:
        ref, hyp = units(reference, language), units(hypothesis, language)
        self.errors += int(edit_distance(ref, hyp)["total"])
        self.units += len(ref)
        return self

    @property
    def rate(self) -> float:
        """Errors per reference unit, in percent."""
        return 100.0 * self.errors / max(1, self.units)
