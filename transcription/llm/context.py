"""The context size the budget is measured against: LLM_CONTEXT_TOKENS, else asked from the server
where it says — vLLM's ``/v1/models`` (``max_model_len``), llama.cpp's ``/props`` (``n_ctx``),
Ollama's ``/api/show`` (``num_ctx``) — else a safe default."""

from __future__ import annotations

import logging
import re
import threading
import time

from transcription.llm.client import LlmError, get_json, post_json
from transcription.llm.config import LlmConfig

log = logging.getLogger(__name__)

# OpenAI and servers that do not say: small enough for most models people serve locally.
DEFAULT_CONTEXT_TOKENS = 4096
# Ollama answers from a 2048-token window unless num_ctx is raised, whatever the model could take,
# and drops the oldest text silently past it: the budget must be what it really uses.
OLLAMA_DEFAULT_CONTEXT = 2048
_DISCOVERY_TTL = 600.0
_discovered: dict[tuple[str, str], tuple[float, int]] = {}
_lock = threading.Lock()


def context_tokens(config: LlmConfig) -> int:
    """The context the budget is measured against (cached per server and model for a while)."""
    if config.context_tokens:
        return config.context_tokens
    key = (config.base_url, config.model)
    with _lock:
        cached = _discovered.get(key)
        if cached and time.monotonic() - cached[0] < _DISCOVERY_TTL:
            return cached[1]
    found = _discover(config) or DEFAULT_CONTEXT_TOKENS
    with _lock:
        _discovered[key] = (time.monotonic(), found)
    return found


def context_forget() -> None:
    with _lock:
        _discovered.clear()


def _discover(config: LlmConfig) -> int | None:
    probes = (
        lambda: _from_models(get_json(config, config.base_url + "/models"), config.model),
        lambda: _from_props(get_json(config, config.root_url + "/props")),
        lambda: _from_ollama(post_json(config, config.root_url + "/api/show", {"model": config.model})),
    )
    for probe in probes:
        try:
            found = probe()
        except LlmError:
            continue
        if found:
            log.info("language model %s: context of %d tokens (from the server)", config.model, found)
            return found
    return None


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _from_models(answer: object, model: str) -> int | None:
    items = answer.get("data") if isinstance(answer, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("id") == model:
            return _positive(item.get("max_model_len"))
    return None


def _from_props(answer: object) -> int | None:
    if not isinstance(answer, dict):
        return None
    generation = answer.get("default_generation_settings")
    return _positive(answer.get("n_ctx")) or (
        _positive(generation.get("n_ctx")) if isinstance(generation, dict) else None)


def _from_ollama(answer: object) -> int | None:
    if not isinstance(answer, dict) or not ("modelfile" in answer or "model_info" in answer):
        return None
    match = re.search(r"num_ctx\s+(\d+)", str(answer.get("parameters") or ""))
    return int(match.group(1)) if match else OLLAMA_DEFAULT_CONTEXT
