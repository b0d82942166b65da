"""django-q2 entry points. Thin: they take ids (or nothing) and call services.

``run_next_job`` is a wake-up, not "run job X": the worker processes drain
the queue of record by themselves, and a wake-up only makes one look now (or,
outside a draining worker, drains here), so a duplicate delivery finds
nothing to claim and returns.
"""

from __future__ import annotations

from typing import Any

from transcription.actions.insight_runs import llm_request_run, llm_requests_dispatch
from transcription.services.job_actions import jobs_notify_finished
from transcription.services.project_exports import project_export_build
from transcription.services.reaper import jobs_kick_idle_queue, jobs_reap_stale
from transcription.services.speakers import speakers_recluster_apply
from transcription.services.webhooks import webhook_deliveries_dispatch, webhook_delivery_send
from transcription.services.worker_process import wakeup


def run_next_job(*_args: Any, **_kwargs: Any) -> Any:
    return wakeup()


def reap_stale_jobs() -> dict[str, int]:
    reaped = jobs_reap_stale()
    kicked = jobs_kick_idle_queue()
    return {"requeued": reaped.requeued, "failed": reaped.failed, "cancelled": reaped.cancelled,
            "kicked": int(kicked)}


def send_due_webhooks() -> int:
    return webhook_deliveries_dispatch()


def send_webhook_delivery(delivery_id: int) -> bool:
    return webhook_delivery_send(delivery_id=delivery_id)


def build_project_export(export_id: str) -> str:
    return project_export_build(export_id=export_id, background=True).status


def notify_jobs_finished(*, job_ids: list[Any]) -> int:
    return jobs_notify_finished(job_ids=job_ids)


def recluster_speakers(transcript_id: str) -> int:
    return speakers_recluster_apply(transcript_id=transcript_id)


def run_llm_request(model: str, pk: int) -> None:
    """One insight or question (outgoing queue)."""
    llm_request_run(model=model, pk=pk)


def dispatch_llm_requests() -> int:
    return llm_requests_dispatch()
