"""Model presets: the operator declares them (ASR_PRESETS), a project picks
a default, an upload may pick another. Pure data, read from settings; the
worker turns a preset into an engine (transcription.asr.engine)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT = "default"
WHISPER_PREFIX = "whisper:"  # whisper:NAME (a faster-whisper hub name) or whisper:/a/CTranslate2/folder
TASKS = ("transcribe", "translate")
_LANGUAGES = {"zh": "zh", "cn": "zh", "en": "en", "ja": "ja", "ko": "ko", "yue": "yue"}


@dataclass(frozen=True)
class Preset:
    name: str
    model: str
    vad_model: str
    punc_model: str
    language: str  # "zh", "en", … or "" when not known (Whisper: detected per file)
    task: str = "transcribe"  # Whisper only: "translate" writes English whatever was spoken

    @property
    def is_chinese(self) -> bool:
        return self.language in ("zh", "yue")

    @property
    def family(self) -> str:
        """"whisper" (faster-whisper) or "funasr" (Paraformer and its kin)."""
        return model_family(self.model)


def model_family(model: str) -> str:
    return "whisper" if model.strip().startswith(WHISPER_PREFIX) else "funasr"


def _guess_language(name: str, model: str) -> str:
    for key in (name.lower(), model.lower().rsplit("/", 1)[-1]):
        for part in key.replace("_", "-").split("-"):
            if part in _LANGUAGES:
                return _LANGUAGES[part]
    return ""


def parse_presets(text: str, *, model: str, vad_model: str, punc_model: str) -> dict[str, Preset]:
    """ASR_PRESETS as presets, in the order given (the first is the default)."""
    if not text.strip():
        return {DEFAULT: Preset(DEFAULT, model, vad_model, punc_model, _guess_language("", model))}
    presets: dict[str, Preset] = {}
    for chunk in text.split(","):
        if not chunk.strip():
            continue
        name, sep, rest = chunk.partition("=")
        name = name.strip()
        parts = [p.strip() for p in rest.split(";")]
        if not sep or not name or not parts[0] or not name.replace("-", "").replace("_", "").isalnum():
            raise ImproperlyConfigured(f"ASR_PRESETS: cannot read {chunk.strip()!r}; write NAME=MODEL[;vad=…][;punc=…]"
                                       "[;lang=…], presets separated by commas.")
        extra = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        unknown = set(extra) - {"vad", "punc", "lang", "task"}
        if unknown or any("=" not in p for p in parts[1:] if p):
            raise ImproperlyConfigured(f"ASR_PRESETS: {name}: unknown part in {rest!r}; use vad=, punc=, lang= "
                                       "or task=.")
        task = extra.get("task", "transcribe")
        if task not in TASKS or (task != "transcribe" and model_family(parts[0]) != "whisper"):
            raise ImproperlyConfigured(f"ASR_PRESETS: {name}: task={task} needs a whisper: model; tasks: "
                                       f"{', '.join(TASKS)}.")
        if name in presets:
            raise ImproperlyConfigured(f"ASR_PRESETS: the preset {name!r} is declared twice.")
        language = extra.get("lang", _guess_language(name, parts[0]))
        presets[name] = Preset(name, parts[0], extra.get("vad", vad_model), extra.get("punc", punc_model),
                               "" if language == "auto" else language, task)
    if not presets:
        raise ImproperlyConfigured("ASR_PRESETS is set but declares no preset.")
    return presets


def presets_all() -> dict[str, Preset]:
    return parse_presets(settings.ASR_PRESETS, model=settings.ASR_MODEL, vad_model=settings.ASR_VAD_MODEL,
                         punc_model=settings.ASR_PUNC_MODEL)


def preset_default() -> Preset:
    return next(iter(presets_all().values()))


def preset_get(name: str | None) -> Preset | None:
    """The preset of that name; the default one for a blank name; None if unknown."""
    if not name:
        return preset_default()
    return presets_all().get(name)


def speakers_available() -> bool:
    """Whether the deployment has a speaker model (diarization can be chosen)."""
    return bool(settings.ASR_SPK_MODEL)
