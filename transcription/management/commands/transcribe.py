"""`manage.py transcribe FILE...`: the terminal path to the same engine the workers use.

Needs no database: the files are decoded, transcribed together (their speech segments are
batched across files) and written as txt, srt or json to stdout or to --out.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from transcription.asr.audio import MediaError, decode
from transcription.asr.engine import EngineConfig, EngineError, TranscriptionResult, build_engine
from transcription.services.exports import results_srt


def render(result: TranscriptionResult, fmt: str, name: str) -> str:
    if fmt == "json":
        return json.dumps({"file": name, **asdict(result)}, ensure_ascii=False, indent=2) + "\n"
    if fmt == "srt":
        return results_srt(result.segments)
    return result.text + "\n" if result.text else ""


class Command(BaseCommand):
    help = "Transcribe audio or video files with the configured ASR engine (no database needed)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--format", choices=["txt", "srt", "json"], default="txt")
        parser.add_argument("--out", metavar="DIR", help="write DIR/<file name>.<format> instead of printing")
        parser.add_argument("--hotword", action="append", default=[], metavar="WORD",
                            help="a word to favour (repeatable)")
        parser.add_argument("--preset", default="", metavar="NAME", help="an ASR_PRESETS name (default: the first)")

    def handle(self, *args: Any, files: list[str], format: str, out: str | None, hotword: list[str],
               preset: str = "", **options: Any) -> None:
        self.preset = preset
        audios: list[np.ndarray] = []
        names: list[str] = []
        failed = 0
        for name in files:
            try:
                audios.append(decode(name))
                names.append(name)
            except MediaError as e:
                failed += 1
                self.stderr.write(f"{name}: {e}")
        if audios:
            self._transcribe(audios, names, format, Path(out) if out else None, hotword)
        if failed:
            raise CommandError(f"{failed} of {len(files)} file(s) could not be read.")

    def _transcribe(self, audios: list[np.ndarray], names: list[str], fmt: str, out: Path | None,
                    hotwords: list[str]) -> None:
        try:
            engine = build_engine(EngineConfig.from_settings(self.preset or None))
            results = engine.transcribe_many(audios, hotwords=hotwords, progress=self._progress)
        except EngineError as e:
            raise CommandError(str(e))
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        for name, result in zip(names, results, strict=True):
            self.stderr.write(f"{name}: {result.audio_seconds:.1f} s of audio, {len(result.segments)} segment(s)")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for name, result in zip(names, results, strict=True):
                target = out / f"{Path(name).name}.{fmt}"
                target.write_text(render(result, fmt, name), encoding="utf-8")
                self.stderr.write(f"{name} -> {target}")
        elif fmt == "json" and len(names) > 1:
            documents = [{"file": n, **asdict(r)} for n, r in zip(names, results, strict=True)]
            self.stdout.write(json.dumps(documents, ensure_ascii=False, indent=2))
        else:
            for name, result in zip(names, results, strict=True):
                if len(names) > 1:
                    self.stdout.write(f"==> {name} <==")
                self.stdout.write(render(result, fmt, name), ending="")

    def _progress(self, fraction: float) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\rtranscribing: {fraction:4.0%}")
            sys.stderr.flush()
