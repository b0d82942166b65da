"""Rates live in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (env API_TOKEN_RATE,
API_UPLOAD_RATE); counts live in the cache (Redis when REDIS_URL is set)."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read per request (DRF's own class attribute is frozen at import time).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class TokenCreateThrottle(_SettingsRate):
    """Password guesses per client address, whoever they claim to be."""

    scope = "api_token"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class UploadThrottle(_SettingsRate):
    """Upload requests per user."""

    scope = "api_upload"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
