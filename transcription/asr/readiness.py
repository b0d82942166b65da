"""Is this node set up to transcribe? Every configured model of every preset, resolved the way the
engine resolves them (hub.inspect_all), without loading anything: a few file lookups, no torch.

/healthz, the ops page's model card, the staff banner on the dashboard and `asr_models setup` ask
this; the engine itself raises the same problems (EngineConfigError) when a job needs the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from transcription.presets import presets_all

from .config import VAD_IMPLS, EngineConfig
from .hub import HUB_TITLES, ModelSource, hub_cache_dir, inspect_all, problems_of
from .paraformer import DTYPES
from .results import EngineError

DOWNLOAD_COMMAND = "python manage.py asr_models download"


@dataclass(frozen=True)
class ModelLine:
    """One model of one preset, for the ops card."""

    preset: str
    role: str
    setting: str
    value: str
    source: ModelSource | None  # None: the setting is empty (optional models)


@dataclass(frozen=True)
class Readiness:
    ready: bool
    problems: list[str] = field(default_factory=list)  # each with the setting, the cause and the fix
    briefs: list[str] = field(default_factory=list)  # the same in a few words, no paths (public /healthz)
    models: list[ModelLine] = field(default_factory=list)
    hub: str = ""
    cache: str = ""  # where hub names are looked up on this machine
    checked: bool = True  # False where ASR_CHECK_MODELS is off (a web node that holds no models)

    @property
    def hub_title(self) -> str:
        return HUB_TITLES.get(self.hub, self.hub)

    @property
    def missing(self) -> list[ModelLine]:
        """Hub models that `asr_models download` would fetch."""
        return [line for line in self.models if line.source is not None and line.source.problem
                and line.source.repo_id is not None and line.source.where != "hub"]

    def as_json(self) -> dict:
        if not self.checked:
            return {"ready": None, "checked": False, "problems": []}
        return {"ready": self.ready, "problems": self.briefs}


def _engine_problems() -> list[tuple[str, str]]:
    problems = []
    for setting, value, allowed in (("ASR_DTYPE", settings.ASR_DTYPE, DTYPES),
                                    ("ASR_VAD_IMPL", settings.ASR_VAD_IMPL, VAD_IMPLS)):
        if value not in allowed:
            args = {"setting": setting, "value": repr(value), "allowed": ", ".join(allowed)}
            problems.append((_("%(setting)s is %(value)s; use one of %(allowed)s.") % args,
                             _("%(setting)s: unknown value") % args))
    return problems


def asr_readiness() -> Readiness:
    """Whether every preset's models can load on this machine, and if not, every reason, in the
    active language (the ops page's reader's; the engine and the CLI say the same in English)."""
    hub = settings.ASR_HUB
    cache = str(hub_cache_dir(hub)) if hub in HUB_TITLES else ""
    if not getattr(settings, "ASR_CHECK_MODELS", True):
        return Readiness(ready=True, hub=hub, cache=cache, checked=False)
    try:
        presets = list(presets_all())
    except ImproperlyConfigured as e:
        return Readiness(ready=False, problems=[str(e)], briefs=[_("ASR_PRESETS: cannot be read")], hub=hub,
                         cache=cache)
    found: dict[str, str] = {}  # problem -> brief, each once however many presets share the model
    lines: list[ModelLine] = []
    seen: set[tuple[str, str]] = set()
    for name in presets:
        try:
            config = EngineConfig.from_settings(name)
        except EngineError as e:
            found[str(e)] = _("ASR_PRESETS (%(name)s): cannot be used") % {"name": name}
            continue
        model_settings = config.model_settings()
        sources = inspect_all(model_settings, config.hub)
        for role, (setting, value) in model_settings.items():
            if (setting, value) not in seen:
                seen.add((setting, value))
                lines.append(ModelLine(name, role, setting, value, sources.get(role)))
        for problem in problems_of(model_settings, sources):
            found.setdefault(problem.full(_), problem.brief(_))
    problems = [*found.items(), *_engine_problems()]
    return Readiness(ready=not problems, problems=[full for full, _brief in problems],
                     briefs=[brief for _full, brief in problems], models=lines, hub=hub, cache=cache)
