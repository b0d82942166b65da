"""The chat call to an OpenAI-compatible server.

Plain urllib3 rather than the ``openai`` SDK: it is already a dependency (webhooks), the calls are
two JSON POSTs and a few GETs, and the SDK would bring httpx2 and its own retry policy into
production for no gain. Only URLs built from LLM_BASE_URL are ever requested, with redirects off, so
a request can reach an internal address only when the operator configured that address.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from transcription.llm.config import LlmConfig
from transcription.services.webhook_targets import Deadline, recording

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_OVERFLOW = re.compile(r"context[_ ]length|context window|maximum context|takes at most|exceed|too long|n_ctx|"
                       r"prompt is too|too many tokens", re.IGNORECASE)
# What servers say about sizes: transformers serve ("The prompt has N tokens, but the model takes at
# most M"), vLLM and OpenAI ("maximum context length is M tokens"), llama.cpp ("n_ctx: M").
_PROMPT_TOKENS = re.compile(r"prompt has (\d+) tokens", re.IGNORECASE)
_LIMIT = re.compile(r"(?:at most|maximum context length is|context size[^\d]{0,12}|n_ctx[^\d]{0,5})\s*(\d+)",
                    re.IGNORECASE)
# Servers that said they do not take response_format (json_schema), by base URL.
_no_schema: set[str] = set()


class LlmError(Exception):
    """A call that failed; ``message`` is for the team (never the key, never staff details)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


class LlmOverflow(LlmError):
    """The server said the prompt does not fit its context."""

    def __init__(self, message: str, *, prompt_tokens: int | None = None, limit: int | None = None) -> None:
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.limit = limit


@dataclass(frozen=True)
class ChatResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    finish_reason: str


def _headers(config: LlmConfig) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json",
               "User-Agent": "transcription-portal-insights/1"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    return headers


def _excerpt(config: LlmConfig, body: bytes) -> str:
    text = body[:2000].decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
        error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
        text = str(error.get("message") or error.get("detail") or error) if isinstance(error, dict) else str(error)
    except ValueError:
        pass
    if config.api_key:
        text = text.replace(config.api_key, "…")
    return " ".join(text.split())[:300]


def _timed_out(timeout: float) -> LlmError:
    seconds = max(1, int(round(timeout)))
    return LlmError(ngettext("The language-model server did not answer within %(seconds)d second.",
                             "The language-model server did not answer within %(seconds)d seconds.", seconds)
                    % {"seconds": seconds}, transient=True)


def _request(config: LlmConfig, method: str, url: str, body: dict | None, *,
             timeout: float) -> urllib3.BaseHTTPResponse:
    """One request with one deadline for all of it (connect, send, every byte of the answer), as
    webhook deliveries have: a server that trickles its answer is cut off at ``timeout``."""
    opened: list[socket.socket] = []
    pool = urllib3.connection_from_url(url, retries=False, maxsize=1,
                                       timeout=urllib3.Timeout(connect=min(10.0, timeout), read=timeout))
    pool.ConnectionCls = recording(pool.ConnectionCls, opened)
    with Deadline(timeout, opened) as clock:
        try:
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            response = pool.urlopen(method, target or "/", body=json.dumps(body).encode() if body is not None else None,
                                    headers=_headers(config), redirect=False, retries=False, assert_same_host=False)
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError):
            # (NewConnectionError, a refused connection, is a ConnectTimeoutError in urllib3 2.)
            raise LlmError(_("The language-model server could not be reached."), transient=True) from None
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            raise _timed_out(timeout) from None
        except (urllib3.exceptions.HTTPError, OSError):
            if clock.passed.is_set():
                raise _timed_out(timeout) from None
            raise LlmError(_("The language-model server could not be reached."), transient=True) from None
        finally:
            pool.close()
        if clock.passed.is_set():
            raise _timed_out(timeout)
    return response


def _transient(code: int) -> bool:
    return code in TRANSIENT_STATUSES


def _json(config: LlmConfig, response: urllib3.BaseHTTPResponse) -> Any:
    if response.status != 200:
        raise LlmError(_("The language-model server answered HTTP %(code)d.") % {"code": response.status},
                       transient=_transient(response.status))
    try:
        return json.loads(response.data)
    except ValueError:
        raise LlmError(_("The language-model server sent something other than JSON.")) from None


def get_json(config: LlmConfig, url: str) -> Any:
    """One GET of a server endpoint (context discovery): no retries, a short timeout."""
    return _json(config, _request(config, "GET", url, None, timeout=min(10.0, config.timeout)))


def post_json(config: LlmConfig, url: str, body: dict) -> Any:
    return _json(config, _request(config, "POST", url, body, timeout=min(10.0, config.timeout)))


def _failure(config: LlmConfig, response: urllib3.BaseHTTPResponse) -> LlmError:
    code = response.status
    detail = _excerpt(config, response.data)
    if code in (401, 403):
        return LlmError(_("The language-model server refused the request (HTTP %(code)d): an administrator "
                          "should check LLM_API_KEY.") % {"code": code})
    if code in (400, 413, 422) and _OVERFLOW.search(detail):
        prompt, limit = _PROMPT_TOKENS.search(detail), _LIMIT.search(detail)
        return LlmOverflow(_("The transcript did not fit the model's context."),
                           prompt_tokens=int(prompt.group(1)) if prompt else None,
                           limit=int(limit.group(1)) if limit else None)
    message = _("The language-model server answered HTTP %(code)d: %(detail)s") % {"code": code, "detail": detail}
    return LlmError(message, transient=code in TRANSIENT_STATUSES)


def _retry_after(response: urllib3.BaseHTTPResponse | None) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return min(60.0, float(value)) if value else None
    except ValueError:
        return None


def chat(config: LlmConfig, messages: list[dict[str, str]], *, max_tokens: int,
         schema: dict | None = None, schema_name: str = "answer") -> ChatResult:
    """One chat completion, retried with backoff on 429/5xx/timeouts/refused connections (at most
    LLM_MAX_ATTEMPTS tries). The JSON schema goes as ``response_format`` where the server takes it;
    a server that rejects the field is asked again without it (the prompt carries the schema too)."""
    body: dict[str, Any] = {"model": config.model, "messages": messages, "max_tokens": max_tokens,
                            "temperature": 0.2, "stream": False}
    if schema is not None and config.base_url not in _no_schema:
        body["response_format"] = {"type": "json_schema",
                                   "json_schema": {"name": schema_name, "schema": schema, "strict": False}}
    url = config.base_url + "/chat/completions"
    attempt = 0
    while True:
        attempt += 1
        response = None
        try:
            response = _request(config, "POST", url, body, timeout=config.timeout)
            if response.status == 200:
                return _result(config, response)
            error = _failure(config, response)
            if (response.status == 400 and "response_format" in body and not isinstance(error, LlmOverflow)
                    and re.search(r"response_format|json_schema", error.message, re.IGNORECASE)):
                _no_schema.add(config.base_url)
                body.pop("response_format")
                attempt -= 1
                continue
        except LlmError as e:
            error = e
        if not error.transient or attempt >= config.max_attempts:
            raise error
        delay = _retry_after(response) or config.retry_base * 4 ** (attempt - 1)
        log.info("language-model call failed (%s), attempt %d of %d; again in %.1f s",
                 error.message, attempt, config.max_attempts, delay)
        time.sleep(delay)


def _result(config: LlmConfig, response: urllib3.BaseHTTPResponse) -> ChatResult:
    answer = _json(config, response)
    try:
        choice = answer["choices"][0]
        text = choice["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        raise LlmError(_("The language-model server's answer had no message in it.")) from None
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    return ChatResult(text=str(text), prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0),
                      model=str(answer.get("model") or config.model),
                      finish_reason=str(choice.get("finish_reason") or ""))
