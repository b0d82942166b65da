"""What an engine is built from: the models, device and batch settings (`EngineConfig`).

Plain Python (torch is imported only to choose a device), so readiness checks and management
commands can name and compare engines without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from transcription.presets import model_family, preset_get, presets_all

from .results import EngineConfigError

VAD_IMPLS = ("fast", "funasr")


@dataclass(frozen=True)
class EngineConfig:
    model: str = "paraformer-zh"
    vad_model: str = "fsmn-vad"
    punc_model: str = "ct-punc"
    spk_model: str = ""
    device: str = "auto"
    ncpu: int = 1
    batch_seconds: int = 120
    hub: str = "ms"
    vad_impl: str = "fast"  # "fast" (vad.FastVad) or "funasr" (FunASR's own streaming VAD)
    dtype: str = "fp32"
    preset: str = ""  # the ASR_PRESETS name this engine serves, recorded with each transcript
    language: str = ""  # "" with a Whisper model: detected per file
    task: str = "transcribe"  # Whisper: "translate" to English

    @property
    def family(self) -> str:
        """"whisper" (faster-whisper, transcription.asr.whisper) or "funasr" (transcription.asr.engine)."""
        return model_family(self.model)

    @classmethod
    def from_settings(cls, preset: str | None = None) -> EngineConfig:
        """The engine for a model preset (blank: the default one) from the ASR settings."""
        chosen = preset_get(preset)
        if chosen is None:
            raise EngineConfigError(f"The model preset {preset!r} is no longer configured on this server "
                                    f"(ASR_PRESETS offers {', '.join(presets_all())}).")
        return cls(model=chosen.model, vad_model=chosen.vad_model, punc_model=chosen.punc_model,
                   spk_model=settings.ASR_SPK_MODEL, device=settings.ASR_DEVICE, ncpu=int(settings.ASR_NCPU),
                   batch_seconds=int(settings.ASR_BATCH_SECONDS), hub=settings.ASR_HUB,
                   vad_impl=settings.ASR_VAD_IMPL, dtype=settings.ASR_DTYPE, preset=chosen.name,
                   language=chosen.language, task=chosen.task)

    def model_settings(self) -> dict[str, tuple[str, str]]:
        """role -> (setting name, value), for every role, configured or not. A model that comes from
        an ASR_PRESETS entry is named by it, so a message names the setting to change."""
        names = {"asr": "ASR_MODEL", "vad": "ASR_VAD_MODEL", "punc": "ASR_PUNC_MODEL", "spk": "ASR_SPK_MODEL"}
        # Whisper writes its own punctuation: a punctuation model is never loaded for it
        punc = "" if self.family == "whisper" else self.punc_model
        values = {"asr": self.model, "vad": self.vad_model, "punc": punc, "spk": self.spk_model}
        if self.preset and getattr(settings, "ASR_PRESETS", "").strip():
            whisper = self.family == "whisper"
            defaults = {"vad": settings.ASR_VAD_MODEL, "punc": "" if whisper else settings.ASR_PUNC_MODEL}
            names["asr"] = f"ASR_PRESETS ({self.preset})"
            for role, default in defaults.items():
                if values[role] != default:
                    names[role] = f"ASR_PRESETS ({self.preset}: {role}=)"
        return {role: (names[role], values[role]) for role in names}


def device_for(requested: str) -> str:
    import torch

    if requested in ("", "auto"):
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise EngineConfigError(f"ASR_DEVICE is {requested!r} but no CUDA device is available; use 'auto' or 'cpu'.")
    return requested
