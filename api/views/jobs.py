"""Jobs in my teams: list with filters, one job, cancel, retry."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exceptions import BadRequest
from api.serializers import DetailSerializer, JobSerializer
from portal.access import parse_uuid
from portal.actor import Actor, Via
from transcription import job_states
from transcription.access import get_job_for_user, jobs_for_user
from transcription.job_states import JobStatus
from transcription.models import Job
from transcription.services.job_actions import job_cancel, job_retry
from transcription.services.queue import queue_positions

ERRORS = {401: DetailSerializer, 403: DetailSerializer, 404: DetailSerializer}


def job_data(job: Job) -> dict:
    return JobSerializer(job, context={"queue_positions": queue_positions(jobs=[job])}).data


class JobListView(generics.ListAPIView):
    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        jobs = jobs_for_user(self.request.user).select_related("media", "transcript")
        params = self.request.query_params
        if (status := params.get("status")) is not None:
            if status not in JobStatus.values:
                raise BadRequest(_("Unknown status %(status)r: use one of %(choices)s.") % {
                    "status": status, "choices": ", ".join(JobStatus.values)})
            jobs = jobs.filter(job_states.q_status(status))
        if (project := params.get("project")) is not None:
            try:
                project_id = parse_uuid(project)
            except Http404:
                raise BadRequest(_("project must be a project id (a UUID)."))
            jobs = jobs.filter(project_id=project_id)
        return jobs.order_by("-created_at", "-id")

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        context = {**self.get_serializer_context(), "queue_positions": queue_positions(jobs=page)}
        return self.get_paginated_response(JobSerializer(page, many=True, context=context).data)

    @extend_schema(
        operation_id="jobs_list",
        summary="Jobs in my teams, newest first",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=JobStatus.values,
                             description="Only jobs in this state."),
            OpenApiParameter("project", OpenApiTypes.UUID, description="Only jobs of this project."),
        ],
        responses={200: JobSerializer(many=True), 400: DetailSerializer, 401: DetailSerializer,
                   404: DetailSerializer},
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class JobDetailView(APIView):
    @extend_schema(operation_id="jobs_retrieve", summary="One job",
                   responses={200: JobSerializer, **ERRORS})
    def get(self, request: Request, job_id: UUID) -> Response:
        return Response(job_data(get_job_for_user(request.user, job_id)))


class JobCancelView(APIView):
    @extend_schema(operation_id="jobs_cancel", summary="Cancel a queued or running job",
                   description="A running job stops at the next segment boundary. 409 if it already finished.",
                   request=None, responses={200: JobSerializer, 409: DetailSerializer, **ERRORS})
    def post(self, request: Request, job_id: UUID) -> Response:
        job = get_job_for_user(request.user, job_id, write=True)
        job = job_cancel(actor=Actor.from_request(request._request, via=Via.API), job=job)
        return Response(job_data(job))


class JobRetryView(APIView):
    @extend_schema(operation_id="jobs_retry", summary="Queue a failed or cancelled job again",
                   request=None, responses={200: JobSerializer, 409: DetailSerializer, **ERRORS})
    def post(self, request: Request, job_id: UUID) -> Response:
        job = get_job_for_user(request.user, job_id, write=True)
        job = job_retry(actor=Actor.from_request(request._request, via=Via.API), job=job)
        return Response(job_data(job))
