"""The browsable API docs: Swagger UI served from our own static files (no CDN).

The split view serves the page and its start-up script as two responses
(``?script`` is the script), so the page needs no inline script and the
Content-Security-Policy stays the site's own: files from this site only,
plus the ``data:`` images Swagger UI's stylesheet uses, which every page allows."""

from __future__ import annotations

from django.contrib.staticfiles.storage import staticfiles_storage
from drf_spectacular.views import SpectacularSwaggerSplitView

SWAGGER_UI_DIR = "vendor/swagger-ui"


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return staticfiles_storage.url(f"{SWAGGER_UI_DIR}/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return staticfiles_storage.url(f"{SWAGGER_UI_DIR}/favicon-32x32.png")
