"""Search across every transcript the user can see."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from transcription.services.search import transcripts_search


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    results = transcripts_search(user=request.user, query=query) if query else None
    return render(request, "transcription/search.html", {"query": query, "results": results})
