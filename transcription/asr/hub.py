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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

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
_FIX = "`python manage.py asr_models download`"


class HubError(Exception):
    """A download that cannot happen; str(e) says why and what to do."""


@dataclass(frozen=True)
class ModelSource:
    role: str  # asr, vad, punc, spk
    setting: str  # ASR_MODEL, ...
    value: str
    repo_id: str | None  # hub repository when the value is a hub name
    path: Path | None  # the directory FunASR will load; None when there is none
    where: str  # "local directory", "ModelScope cache", "Hugging Face cache"
    problem: str = ""  # why it cannot load, with the fix; "" when it can
    brief: str = ""  # the problem in a few words, without paths (for the unauthenticated /healthz)

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


def inspect(role: str, setting: str, value: str, hub: str) -> ModelSource:
    value = value.strip()
    if is_local_path(value):
        path = Path(value).expanduser().resolve()
        if not path.is_dir():
            problem = (f"{setting} is {value!r}, but that directory does not exist. Set {setting} to a directory "
                       f"containing config.yaml and model.pt, or to a hub model name and run {_FIX}.")
            brief = f"{setting}: the model directory does not exist"
        elif missing := missing_files(path):
            problem = (f"{setting} is {value!r}, but that directory has no {' or '.join(missing)}. A model "
                       f"directory needs config.yaml and model.pt (as {_FIX} fetches them).")
            brief = f"{setting}: the model directory has no {' or '.join(missing)}"
        else:
            problem = brief = ""
        return ModelSource(role, setting, value, None, path, "local directory", problem, brief)
    if hub not in HUB_NAMES:
        return ModelSource(role, setting, value, value, None, "hub",
                           f"ASR_HUB is {hub!r}; use 'ms' (ModelScope) or 'hf' (Hugging Face).",
                           "ASR_HUB: unknown hub")
    repo_id = HUB_NAMES[hub].get(value, value)
    where = f"{HUB_TITLES[hub]} cache"
    path = cached_snapshot(repo_id, hub)
    if path is None or missing_files(path):
        problem = (f"{setting} is {value!r} ({repo_id} on {HUB_TITLES[hub]}), which is not downloaded on this "
                   f"machine (cache: {hub_cache_dir(hub)}). Run {_FIX} on a machine with internet access, or set "
                   f"{setting} to a local directory containing config.yaml and model.pt.")
        return ModelSource(role, setting, value, repo_id, None, where, problem,
                           f"{setting}: {value} is not downloaded")
    return ModelSource(role, setting, value, repo_id, path, where)


def inspect_all(settings: Mapping[str, tuple[str, str]], hub: str) -> dict[str, ModelSource]:
    """role -> source for every configured (non-empty) model setting."""
    return {role: inspect(role, setting, value, hub)
            for role, (setting, value) in settings.items() if value.strip()}


REQUIRED_ROLES = {"asr": "paraformer-zh", "vad": "fsmn-vad"}


def problems_of(settings: Mapping[str, tuple[str, str]], sources: Mapping[str, ModelSource]) -> list[tuple[str, str]]:
    """(problem with the fix, brief) for every model that cannot load: all of them, not only the first."""
    problems = []
    for role, (setting, _value) in settings.items():
        source = sources.get(role)
        if source is None and role in REQUIRED_ROLES:
            problems.append((f"{setting} is empty; the engine needs this model (e.g. {REQUIRED_ROLES[role]!r}).",
                             f"{setting}: empty"))
        elif source is not None and source.problem:
            problems.append((source.problem, source.brief or source.problem))
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
