"""Projects in my teams; uploading media into one."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import (
    DetailSerializer,
    ProjectAccuracySerializer,
    ProjectSerializer,
    UploadFilesSerializer,
    UploadRejectedSerializer,
    UploadResultSerializer,
    job_options_json,
)
from api.throttling import UploadThrottle
from portal.access import get_project_for_user, get_team_for_user, projects_for_user
from portal.actor import Actor, Via
from portal.models import Project
from portal.services.teams import project_create
from transcription.services.accuracy import project_accuracy
from transcription.services.upload_parts import upload_parts_unreadable
from transcription.services.uploads import upload_handlers_install, uploads_accept

ERRORS = {401: DetailSerializer, 403: DetailSerializer, 404: DetailSerializer}


class ProjectListView(generics.ListCreateAPIView):
    serializer_class = ProjectSerializer

    def get_queryset(self) -> QuerySet[Project]:
        return projects_for_user(self.request.user).order_by("name", "id")

    @extend_schema(operation_id="projects_list", summary="Projects in my teams",
                   responses={200: ProjectSerializer(many=True), 400: DetailSerializer, 401: DetailSerializer,
                              404: DetailSerializer})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="projects_create", summary="Create a project (team owners and admins)",
                   responses={201: ProjectSerializer, 400: DetailSerializer, **ERRORS})
    def post(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = get_team_for_user(request.user, data["team_id"], manage=True)
        project = project_create(actor=Actor.from_request(request._request, via=Via.API), team=team,
                                 name=data["name"],
                                 hotwords=data.get("hotwords", []))
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(operation_id="projects_retrieve", summary="One project",
                   responses={200: ProjectSerializer, **ERRORS})
    def get(self, request: Request, project_id: UUID) -> Response:
        project = get_project_for_user(request.user, project_id)
        return Response(ProjectSerializer(project).data)


class ProjectAccuracyView(APIView):
    @extend_schema(operation_id="projects_accuracy", summary="The machine's measured accuracy in a project",
                   description="For every approved transcript, the machine's first text against the approved "
                               "text: character (Chinese) or word error rate after normalisation.",
                   responses={200: ProjectAccuracySerializer, **ERRORS})
    def get(self, request: Request, project_id: UUID) -> Response:
        project = get_project_for_user(request.user, project_id)
        return Response(ProjectAccuracySerializer(project_accuracy(project=project)).data)


class ProjectUploadView(APIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [UploadThrottle]

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Before anything parses the body (the session CSRF check reads request.POST):
        # files past MAX_UPLOAD_MB stop being written to disk.
        upload_handlers_install(request._request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="projects_uploads_create",
        summary="Upload audio, video or a ZIP of them",
        description=(
            "Multipart form data with one or more `file` fields. Every file is checked by decoding it; "
            "accepted files become queued jobs, the others are listed in `rejected` with the reason. "
            "If nothing was accepted the answer is 400 with the same lists and a `detail`.\n\n"
            f"Limits: each file up to {settings.MAX_UPLOAD_MB} MB (larger ones are rejected by name); "
            f"at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files per request (more: 400; send several "
            f"requests or a ZIP); a ZIP holds at most {settings.ZIP_MAX_MEMBERS} members and "
            f"{settings.ZIP_MAX_TOTAL_MB} MB uncompressed; file names must be UTF-8; "
            f"{settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['api_upload']} upload requests per user (429)."
        ),
        request={"multipart/form-data": UploadFilesSerializer},
        responses={201: UploadResultSerializer, 400: UploadRejectedSerializer, 429: DetailSerializer,
                   **ERRORS},
    )
    def post(self, request: Request, project_id: UUID) -> Response:
        project = get_project_for_user(request.user, project_id, write=True)
        files = request.FILES.getlist("file")
        unreadable = upload_parts_unreadable(request._request)
        if not files and not unreadable:
            return Response({"detail": _('Attach one or more files in "file" fields.'),
                             "jobs": [], "rejected": []}, status=status.HTTP_400_BAD_REQUEST)
        fields = {name: request.data[name] for name in ("urgent", "preset", "speakers", "hotwords")
                  if name in request.data}
        options = UploadFilesSerializer(data=fields, partial=True)
        options.is_valid(raise_exception=True)
        chosen = options.validated_data
        result = uploads_accept(actor=Actor.from_request(request._request, via=Via.API), project=project,
                                files=files, urgent=chosen.get("urgent", False), preset=chosen.get("preset") or None,
                                speakers=chosen.get("speakers") or None, hotwords=chosen.get("hotwords") or None,
                                unreadable=unreadable)
        body = {
            "jobs": [{"id": job.pk, "filename": job.media.original_name, "status": job.status,
                      "options": job_options_json(job)} for job in result.jobs],
            "rejected": [{"filename": r.filename, "error": r.error} for r in result.rejected],
        }
        if not result.jobs:
            reasons = " ".join(f"{r.filename}: {r.error}" for r in result.rejected)
            message = _("No file was accepted.")
            body = {"detail": f"{message} {reasons}".strip(), **body}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(UploadResultSerializer(body).data, status=status.HTTP_201_CREATED)
