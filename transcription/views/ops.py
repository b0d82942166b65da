"""The staff ops page: queue, workers, throughput, failures, usage.

Staff only: anonymous users are sent to log in, signed-in non-staff get a
404 (the page does not exist for them)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.actor import Actor
from transcription.asr.readiness import asr_readiness
from transcription.llm.config import llm_config
from transcription.models import JobStatus
from transcription.queries.insights import llm_usage_by_team, month_start
from transcription.services.job_actions import jobs_not_set_up_count, jobs_requeue_not_set_up
from transcription.services.ops import OpsSnapshot, Throughput, ops_snapshot

REFRESH_SECONDS = 10
ERROR_URL_CHARS = 300

# Chart geometry, in SVG user units (the SVG scales to its container).
CHART_W, CHART_H = 720, 220
PAD_L, PAD_R, PAD_T, PAD_B = 48, 48, 14, 30


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise Http404("Not found")
        return view(request, *args, **kwargs)
    return wrapped


@never_cache
@staff_required
def ops(request: HttpRequest) -> HttpResponse:
    context = _context(ops_snapshot())
    context.update({"readiness": asr_readiness(), "not_set_up_count": jobs_not_set_up_count(),
                    "llm_config": llm_config(), "llm_usage": llm_usage_by_team(), "llm_month": month_start(),
                    "llm_budget": settings.LLM_TEAM_MONTHLY_TOKENS})
    return render(request, "ops/ops.html", context)


@require_POST
@staff_required
def ops_requeue_not_set_up(request: HttpRequest) -> HttpResponse:
    """Once the models are in place: every job that failed because they were not, back in the queue."""
    count = jobs_requeue_not_set_up(actor=Actor.from_request(request))
    messages.success(request, ngettext("%(n)d job is back in the queue.", "%(n)d jobs are back in the queue.",
                                       count) % {"n": count})
    return redirect(f"{reverse('ops')}#ops-models")


@never_cache
@staff_required
def ops_panel(request: HttpRequest) -> HttpResponse:
    """The live part of the page, polled by htmx."""
    return render(request, "ops/_panel.html", _context(ops_snapshot()))


def _context(snap: OpsSnapshot) -> dict:
    jobs_url = reverse("admin:transcription_job_changelist")
    return {
        "snap": snap,
        "refresh_seconds": REFRESH_SECONDS,
        "jobs_url": jobs_url,
        "status_counts": [
            (value, label, snap.queue.counts[value], f"{jobs_url}?{urlencode({'status__exact': value})}")
            for value, label in JobStatus.choices
        ],
        "failure_groups": [(group, _failed_jobs_url(jobs_url, group.error, snap)) for group in snap.failures.groups],
        "chart": throughput_chart(snap.throughput),
    }


def _failed_jobs_url(jobs_url: str, error: str, snap: OpsSnapshot) -> str:
    """The admin job list filtered to one failure group."""
    # A very long message would make a very long URL; its start is distinctive enough.
    match = {"error": error} if len(error) <= ERROR_URL_CHARS else {"error__startswith": error[:ERROR_URL_CHARS]}
    return f"{jobs_url}?" + urlencode({
        "status__exact": JobStatus.FAILED, **match, "finished_at__gte": snap.failures.since.isoformat(),
    })


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is >= value (axis maximum)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10 ** (exponent + 1)


def throughput_chart(throughput: Throughput) -> dict:
    """Bars of audio hours per hour, with the hour's real-time factor as a
    line on its own right-hand axis."""
    hours = throughput.hours
    plot_w = CHART_W - PAD_L - PAD_R
    plot_h = CHART_H - PAD_T - PAD_B
    slot = plot_w / max(1, len(hours))
    bottom = PAD_T + plot_h
    y_max = nice_ceiling(max((h.audio_hours for h in hours), default=0))
    rtfs = [h.rtf for h in hours if h.rtf is not None]
    rtf_max = nice_ceiling(max(rtfs, default=0))

    bars, points = [], []
    for i, h in enumerate(hours):
        x = PAD_L + i * slot
        height = plot_h * h.audio_hours / y_max
        bars.append({
            "x": round(x + slot * 0.15, 1), "y": round(bottom - height, 1),
            "w": round(slot * 0.7, 1), "h": round(height, 1),
            "label_x": round(x + slot / 2, 1), "point": h,
            # Every third hour is labelled; 24 labels do not fit a phone.
            "labelled": i % 3 == 0,
        })
        if h.rtf is not None:
            points.append((round(x + slot / 2, 1), round(bottom - plot_h * min(h.rtf, rtf_max) / rtf_max, 1)))

    def ticks(top: float) -> list[dict]:
        return [{"y": round(bottom - plot_h * f, 1), "label": f"{top * f:g}"} for f in (0, 0.5, 1)]

    return {
        "width": CHART_W, "height": CHART_H,
        "left": PAD_L, "right": CHART_W - PAD_R, "top": PAD_T, "bottom": bottom,
        "label_y": bottom + 18,
        "bars": bars,
        "y_ticks": ticks(y_max),
        "rtf_ticks": ticks(rtf_max) if rtfs else [],
        "rtf_points": " ".join(f"{x},{y}" for x, y in points),
        "rtf_dots": [{"x": x, "y": y} for x, y in points],
    }
