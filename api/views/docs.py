"""The browsable API docs: Swagger UI served from our own static files (no CDN)."""

from __future__ import annotations

from django.contrib.staticfiles.storage import staticfiles_storage
from drf_spectacular.views import SpectacularSwaggerView

SWAGGER_UI_DIR = "vendor/swagger-ui"


class ApiDocsView(SpectacularSwaggerView):
    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return staticfiles_storage.url(f"{SWAGGER_UI_DIR}/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return staticfiles_storage.url(f"{SWAGGER_UI_DIR}/favicon-32x32.png")
