"""GET /healthz: can we reach the database and the task broker, how deep is
the queue, and can this node's speech recognition load its models? No
authentication, and nothing about anyone's data: only "ok"/"error" per
dependency, two global counts and the ASR problems in a few words (no paths).
503 when the database or broker is down or pages cannot render (a page
template is rendered, static file names included: under the manifest storage
a missing manifest makes every page a 500), so a load balancer or
orchestrator can act on the status code alone; models that are not ready are
reported in "asr" without failing the web node (it serves pages either way)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.models import OrmQ
from redis import Redis

from transcription import job_states
from transcription.asr.readiness import asr_readiness
from transcription.job_states import JobStatus
from transcription.models import Job

log = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def database_check() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        log.warning("health check: database unreachable", exc_info=True)
        return False


def broker_check() -> bool:
    """Redis PING when django-q2 runs on Redis, else the ORM broker's table."""
    redis_url = settings.Q_CLUSTER.get("redis")
    try:
        if redis_url:
            client = Redis.from_url(redis_url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
                                          socket_timeout=BROKER_TIMEOUT_SECONDS)
            try:
                return bool(client.ping())
            finally:
                client.close()
        OrmQ.objects.exists()
        return True
    except Exception:
        log.warning("health check: broker unreachable", exc_info=True)
        return False


def queue_depth() -> dict[str, int]:
    counts = dict(
        Job.objects.filter(job_states.q_active())
        .values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    return {"queued": counts.get(JobStatus.QUEUED, 0), "running": counts.get(JobStatus.RUNNING, 0)}


def pages_check(request: HttpRequest) -> bool:
    """Render a real page (the site's layout, its static files and links) as a visitor would get it."""
    try:
        render_to_string("error.html", {"message": "", "back": None}, request=request)
        return True
    except Exception:
        log.error("health check: pages cannot render", exc_info=True)
        return False


def asr_check() -> dict:
    try:
        with translation.override(None):  # for monitoring: the same English whatever the caller's language
            return asr_readiness().as_json()
    except Exception:
        log.warning("health check: cannot inspect the ASR models", exc_info=True)
        return {"ready": False, "problems": ["the model check itself failed; see the log"]}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = database_check()
    broker = broker_check()
    queue = None
    if database:
        try:
            queue = queue_depth()
        except Exception:
            log.warning("health check: cannot count jobs", exc_info=True)
            database = False
    pages = pages_check(request)
    ok = database and broker and pages
    body = {
        "status": "ok" if ok else "error",
        "database": "ok" if database else "error",
        "broker": "ok" if broker else "error",
        "pages": "ok" if pages else "error",
        "queue": queue,
        "asr": asr_check(),
    }
    return JsonResponse(body, status=200 if ok else 503)
