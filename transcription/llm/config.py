"""Where the model server is, from settings (LLM_*); unset, the feature is off."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class LlmConfig:
    base_url: str
    api_key: str
    model: str
    context_tokens: int  # 0 until discovered
    timeout: float
    concurrency: int
    max_attempts: int
    retry_base: float
    max_output_tokens: int

    @property
    def shown_url(self) -> str:
        """The URL without any user:password in it, for staff pages."""
        return re.sub(r"//[^/@]*@", "//", self.base_url)

    @property
    def root_url(self) -> str:
        """The server's root: native endpoints (/props, /api/show) live beside /v1."""
        return re.sub(r"/v1$", "", self.base_url)


def llm_config() -> LlmConfig | None:
    """The operator's settings, or None when the feature is off (LLM_BASE_URL or LLM_MODEL unset)."""
    if not settings.LLM_BASE_URL or not settings.LLM_MODEL:
        return None
    return LlmConfig(
        base_url=settings.LLM_BASE_URL, api_key=settings.LLM_API_KEY, model=settings.LLM_MODEL,
        context_tokens=max(0, settings.LLM_CONTEXT_TOKENS), timeout=float(settings.LLM_TIMEOUT_SECONDS),
        concurrency=max(1, settings.LLM_CONCURRENCY), max_attempts=max(1, settings.LLM_MAX_ATTEMPTS),
        retry_base=max(0.0, settings.LLM_RETRY_BASE_SECONDS), max_output_tokens=max(64, settings.LLM_MAX_OUTPUT_TOKENS),
    )


def llm_missing_settings() -> list[str]:
    """What staff must set to turn the feature on."""
    return [name for name in ("LLM_BASE_URL", "LLM_MODEL") if not getattr(settings, name)]
