"""A transcript with its segments; editing one segment; exporting a file."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exceptions import BadRequest, Conflict
from api.serializers import DetailSerializer, SegmentEditSerializer, SegmentSerializer, TranscriptSerializer
from portal.models import AuditAction
from portal.services.audit import audit_record
from transcription.access import get_transcript_for_user
from transcription.models import Segment
from transcription.services.exports import (
    CHINESE_CHOICES,
    EXPORT_FORMATS,
    PUNCTUATION_CHOICES,
    ExportError,
    ExportOptions,
    transcript_export,
)
from transcription.services.review import TranscriptLocked, segment_edit

ERRORS = {401: DetailSerializer, 403: DetailSerializer, 404: DetailSerializer}


class TranscriptDetailView(APIView):
    @extend_schema(operation_id="transcripts_retrieve", summary="A transcript with its segments",
                   description="Times are seconds (float).",
                   responses={200: TranscriptSerializer, **ERRORS})
    def get(self, request: Request, transcript_id: UUID) -> Response:
        transcript = get_transcript_for_user(request.user, transcript_id)
        audit_record(request=request._request, action=AuditAction.TRANSCRIPT_VIEW,
                     team=transcript.job.project.team, obj=transcript)
        return Response(TranscriptSerializer(transcript).data)


class SegmentEditView(APIView):
    @extend_schema(operation_id="transcripts_segments_partial_update", summary="Correct one segment's text",
                   description="Records a revision (who, when, before and after). 409 if the transcript is "
                               "approved (locked).",
                   request=SegmentEditSerializer,
                   responses={200: SegmentSerializer, 400: DetailSerializer, 409: DetailSerializer, **ERRORS})
    def patch(self, request: Request, transcript_id: UUID, index: int) -> Response:
        transcript = get_transcript_for_user(request.user, transcript_id, write=True)
        serializer = SegmentEditSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            segment = segment_edit(transcript=transcript, index=index, text=serializer.validated_data["text"],
                                   user=request.user, request=request._request)
        except Segment.DoesNotExist:
            raise NotFound()
        except TranscriptLocked as e:
            raise Conflict(str(e))
        return Response(SegmentSerializer(segment).data)


class TranscriptExportView(APIView):
    @extend_schema(
        operation_id="transcripts_export",
        summary="Download the transcript as a file",
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(EXPORT_FORMATS), default="txt"),
            OpenApiParameter("timestamps", OpenApiTypes.BOOL, default=False,
                             description="Add start/end times (txt, docx)."),
            OpenApiParameter("speakers", OpenApiTypes.BOOL, default=False, description="Add speaker names."),
            OpenApiParameter("chinese", OpenApiTypes.STR, enum=[c for c in CHINESE_CHOICES if c],
                             description="Convert to simplified or traditional Chinese."),
            OpenApiParameter("punctuation", OpenApiTypes.STR, enum=[c for c in PUNCTUATION_CHOICES if c],
                             description="Full- or half-width punctuation."),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as an attachment named after the media file."),
            400: DetailSerializer, **ERRORS,
        },
    )
    def get(self, request: Request, transcript_id: UUID) -> HttpResponse:
        transcript = get_transcript_for_user(request.user, transcript_id)
        fmt = request.query_params.get("format") or "txt"
        try:
            options = ExportOptions.from_query(request.query_params)
            export = transcript_export(transcript=transcript, format=fmt, options=options)
        except ExportError as e:
            raise BadRequest(str(e))
        audit_record(request=request._request, action=AuditAction.TRANSCRIPT_EXPORT,
                     team=transcript.job.project.team, obj=transcript, detail={"format": fmt})
        response = HttpResponse(export.content, content_type=export.content_type)
        response["Content-Disposition"] = content_disposition_header(True, export.filename)
        return response
