"""`manage.py asr_models check|download`: where each configured ASR model loads from, and fetching
hub models into the local cache (on a machine with internet access)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from transcription.asr.engine import Engine, EngineConfig, EngineError
from transcription.asr.hub import HUB_TITLES, HubError, download, inspect_all


class Command(BaseCommand):
    help = "Check where the configured ASR models load from, or download hub models into the local cache."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["check", "download"])
        parser.add_argument("--load", action="store_true",
                            help="check: also load the engine and transcribe one second of silence")

    def handle(self, *args: Any, action: str, load: bool = False, **options: Any) -> None:
        config = EngineConfig.from_settings()
        if action == "download":
            self._download(config)
        else:
            self._check(config, load)

    def _check(self, config: EngineConfig, load: bool) -> None:
        sources = inspect_all(config.model_settings(), config.hub)
        problems = 0
        for role, (setting, value) in config.model_settings().items():
            source = sources.get(role)
            if source is None and role in ("punc", "spk"):
                note = "no punctuation" if role == "punc" else "no speaker diarization"
                self.stdout.write(f"{role:<5} {setting}='' {self.style.WARNING('off')}: {note}")
            elif source is None or source.problem:
                problems += 1
                problem = source.problem if source else f"{setting} is empty; the engine needs this model."
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
            engine = Engine(config)
            engine.transcribe(np.zeros(16000, dtype=np.float32))
        except EngineError as e:
            raise CommandError(str(e))
        self.stdout.write(self.style.SUCCESS(
            f"engine loaded on {engine.device} and ran in {time.perf_counter() - started:.1f} s"))

    def _download(self, config: EngineConfig) -> None:
        title = HUB_TITLES.get(config.hub, config.hub)
        errors: list[str] = []
        for source in inspect_all(config.model_settings(), config.hub).values():
            label = f"{source.role:<5} {source.setting}={source.value!r}"
            if source.repo_id is None:
                self.stdout.write(f"{label}: a local directory, nothing to download")
            elif not source.problem:
                self.stdout.write(f"{label}: already downloaded ({source.path})")
            else:
                self.stdout.write(f"{label}: downloading {source.repo_id} from {title}...")
                try:
                    path = download(source, config.hub)
                except HubError as e:
                    self.stdout.write(self.style.ERROR(f"{label}: failed"))
                    errors.append(str(e))
                    continue
                self.stdout.write(self.style.SUCCESS(f"{label}: downloaded to {path}"))
        if errors:
            raise CommandError("\n".join(dict.fromkeys(errors)))
