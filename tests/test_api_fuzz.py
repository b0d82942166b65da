"""Schemathesis against the OpenAPI schema, in process (Django's WSGI app,
the test database): generated requests to every operation, signed in as a
team owner, must never get a 5xx and every answer must match the schema
(status code, content type, body). Bounded: a fixed number of examples per
operation, about two minutes in all on the 2-core CI machine."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings

from api.services import token_create
from portal.actor import Actor
from tests.api_support import fresh_cache  # noqa: F401

# Examples per operation (16 operations); FUZZ_EXAMPLES=1000 for a longer run by hand.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def token(db, alice, project) -> Iterator[str]:
    _token, key = token_create(actor=Actor.of(alice), user=alice, name="fuzz")
    # As Django's test client does: the WSGI handler must not close the test's connection
    # (and with it the test's transaction) at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield key
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate])
def test_the_api_answers_every_generated_request_as_documented(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"})
