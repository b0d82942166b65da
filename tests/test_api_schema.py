"""GET /api/schema/ (OpenAPI 3) and the /api/docs/ page."""

from __future__ import annotations

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from openapi_spec_validator import validate

from api.urls import v1
from tests.api_support import api, fresh_cache  # noqa: F401

pytestmark = pytest.mark.django_db

# DESIGN §7, route by route.
DESIGN_ROUTES = [
    ("post", "/api/v1/auth/token/"),
    ("get", "/api/v1/teams/"),
    ("post", "/api/v1/teams/"),
    ("post", "/api/v1/teams/{team_id}/members/"),
    ("get", "/api/v1/projects/"),
    ("post", "/api/v1/projects/"),
    ("get", "/api/v1/projects/{project_id}/"),
    ("get", "/api/v1/projects/{project_id}/accuracy/"),
    ("post", "/api/v1/projects/{project_id}/uploads/"),
    ("get", "/api/v1/jobs/"),
    ("get", "/api/v1/jobs/{job_id}/"),
    ("post", "/api/v1/jobs/{job_id}/cancel/"),
    ("post", "/api/v1/jobs/{job_id}/retry/"),
    ("get", "/api/v1/transcripts/{transcript_id}/"),
    ("patch", "/api/v1/transcripts/{transcript_id}/segments/{index}/"),
    ("get", "/api/v1/transcripts/{transcript_id}/export/"),
    ("post", "/api/v1/transcripts/{transcript_id}/review/"),
    ("get", "/api/v1/transcripts/{transcript_id}/insights/"),
    ("post", "/api/v1/transcripts/{transcript_id}/insights/"),
    ("post", "/api/v1/transcripts/{transcript_id}/questions/"),
    ("get", "/api/v1/questions/{question_id}/"),
]


@pytest.fixture
def schema():
    r = api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    return r.json()


def props(schema: dict, name: str) -> set[str]:
    return set(schema["components"]["schemas"][name]["properties"])


def test_it_serves_a_valid_openapi_3_schema(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_it_serves_yaml_by_default(db):
    r = api().get("/api/schema/")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.oai.openapi")
    validate(yaml.safe_load(r.content))


def test_it_documents_every_design_route(schema):
    documented = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert set(DESIGN_ROUTES) <= documented


def test_it_documents_exactly_the_routes_it_serves(schema):
    served = {"/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern)) for p in v1}
    assert served == set(schema["paths"])
    assert {path for _method, path in DESIGN_ROUTES} == served


def test_it_documents_the_design_fields_and_token_auth(schema):
    assert props(schema, "Team") == {"id", "name", "role"}
    assert props(schema, "Project") == {"id", "team", "name", "hotwords"}
    assert props(schema, "Job") == {"id", "project", "filename", "status", "progress", "queue_position",
                                    "attempts", "error", "audio_seconds", "created_at", "started_at",
                                    "finished_at", "transcript", "options"}
    assert props(schema, "Transcript") == {"id", "job", "text", "review_status", "segments"}
    assert props(schema, "Segment") == {"index", "start", "end", "text", "speaker"}
    assert props(schema, "UploadResult") == {"jobs", "rejected"}
    assert props(schema, "PaginatedJobList") >= {"count", "next", "previous", "results"}
    token = schema["components"]["securitySchemes"]["tokenAuth"]
    assert token == {"type": "apiKey", "in": "header", "name": "Authorization",
                     "description": "Token-based authentication: `Authorization: Token <key>`."}
    assert schema["paths"]["/api/v1/auth/token/"]["post"].get("security") in (None, [])
    job = schema["paths"]["/api/v1/jobs/{job_id}/cancel/"]["post"]
    assert {"tokenAuth": []} in job["security"]
    assert {"200", "401", "403", "404", "409"} <= set(job["responses"])
    upload = schema["paths"]["/api/v1/projects/{project_id}/uploads/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


def test_it_serves_browsable_docs_without_a_cdn(db):
    r = api().get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    # The start-up script is a file of its own (no inline script under the CSP), and it loads the schema.
    script = next(s for s in sources if "script=" in s)
    loader = api().get(script.replace("&amp;", "&"))
    assert loader["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in loader.content.decode()
    assert sources and not [s for s in sources if "//" in s]
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        url = next(s for s in sources if s.endswith(name))
        assert url.startswith("/static/vendor/swagger-ui/")
        assert finders.find(url.removeprefix("/static/"))
