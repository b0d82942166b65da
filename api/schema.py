"""OpenAPI: the token scheme (drf-spectacular extension) and answers every
operation with a body shares (a postprocessing hook)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication: `Authorization: Token <key>`.',
        }



def document_media_type_errors(result: dict, generator: object, request: object, public: bool) -> dict:
    """SPECTACULAR_SETTINGS POSTPROCESSING_HOOKS: a body sent without a Content-Type, or in one the
    operation does not take (JSON to the upload endpoint), is answered 415 with {"detail"}."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("415", {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    "description": "Unsupported Media Type: send the body as one of the types listed.",
                })
    return result
