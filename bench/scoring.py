"""Word and character error rates against reference texts, with the portal's one normalisation for
both sides (`transcription.text.error_units`: case and punctuation dropped, Chinese in Simplified
characters, OpenCC t2s, scored per character, everything else per word). The edit distance is
Kaldi's (kaldialign).

`REFERENCES` are the real clips in ../shared/speech/ that have a reference text; `clips()` adds the
LibriVox clips of Debian's pocketsphinx-testdata where that package is installed (.ci/run installs it).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from kaldialign import edit_distance

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transcription.text import error_units  # noqa: E402

SPEECH = ROOT.parent / "shared" / "speech"
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
REFERENCES = {
    "aishell-BAC009S0724W0121.wav": ("zh", "广州市房地产中介协会分析"),
    "funasr-asr_example.wav": ("zh", "欢迎大家来体验达摩院推出的语音识别模型"),
    "librispeech-1995-1837-0001.wav": ("en", "it was the first great sorrow of his life it was not so much the loss of "
                                             "the cotton itself but the fantasy the hopes the dreams built around it"),
}


def clips() -> dict[str, tuple[Path, str, str]]:
    """file name -> (path, language, reference text) of every real clip with a reference found here."""
    found = {name: (SPEECH / name, language, text) for name, (language, text) in REFERENCES.items()
             if (SPEECH / name).is_file()}
    listing = LIBRIVOX / "transcription"
    for line in listing.read_text().splitlines() if listing.is_file() else []:
        if match := re.fullmatch(r"<s> (.+?) </s> \((\S+)\)", line.strip()):
            path = LIBRIVOX / f"{match[2]}.wav"
            if path.is_file():
                found[path.name] = (path, "en", match[1])
    return found


@dataclass
class Score:
    errors: int = 0
    units: int = 0

    def add(self, reference: str, hypothesis: str) -> Score:
        ref, hyp = error_units(reference), error_units(hypothesis)
        self.errors += int(edit_distance(ref, hyp)["total"])
        self.units += len(ref)
        return self

    @property
    def rate(self) -> float:
        """Errors per reference unit, in percent."""
        return 100.0 * self.errors / max(1, self.units)
