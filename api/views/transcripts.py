"""A transcript with its segments; editing one segment; exporting a file."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import DetailSerializer, SegmentEditSerializer, SegmentSerializer, TranscriptSerializer
from portal.actor import Actor, Via
from transcription.access import get_transcript_for_user
from transcription.services.exports import (
    CHINESE_CHOICES,
    CONTENT_TYPES,
    EXPORT_FORMATS,
    MAX_CUE_CHARS,
    MIN_CUE_CHARS,
    PUNCTUATION_CHOICES,
    ExportOptions,
    transcript_export,
)
from transcription.services.filenames import content_disposition
from transcription.services.review import segment_edit, transcript_viewed

ERRORS = {401: DetailSerializer, 403: DetailSerializer, 404: DetailSerializer}


class TranscriptDetailView(APIView):
    @extend_schema(operation_id="transcripts_retrieve", summary="A transcript with its segments",
                   description="Times are seconds (float).",
                   responses={200: TranscriptSerializer, **ERRORS})
    def get(self, request: Request, transcript_id: UUID) -> Response:
        transcript = get_transcript_for_user(request.user, transcript_id)
        transcript_viewed(actor=Actor.from_request(request._request, via=Via.API), transcript=transcript)
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
        segment = segment_edit(actor=Actor.from_request(request._request, via=Via.API), transcript=transcript,
                               index=index, text=serializer.validated_data["text"])
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
            OpenApiParameter("itn", OpenApiTypes.BOOL,
                             description="Numbers as digits (inverse text normalisation); default: the project's "
                                         "choice."),
            OpenApiParameter("max_chars", OpenApiTypes.INT,
                             description=f"srt and vtt: split cues longer than this many characters at word "
                                         f"boundaries; 0 (the default) or {MIN_CUE_CHARS} to {MAX_CUE_CHARS}."),
        ],
        responses={
            **{(200, CONTENT_TYPES[fmt].split(";")[0]): OpenApiResponse(
                OpenApiTypes.BINARY, description=f"format={fmt}: the file, as an attachment named after the media "
                                                 f"file ({CONTENT_TYPES[fmt]}).") for fmt in EXPORT_FORMATS},
            400: DetailSerializer, **ERRORS,
        },
    )
    def get(self, request: Request, transcript_id: UUID) -> HttpResponse:
        transcript = get_transcript_for_user(request.user, transcript_id)
        fmt = request.query_params.get("format") or "txt"
        export = transcript_export(actor=Actor.from_request(request._request, via=Via.API), transcript=transcript,
                                   format=fmt, options=ExportOptions.from_query(request.query_params))
        response = HttpResponse(export.content, content_type=export.content_type)
        response["Content-Disposition"] = content_disposition(export.filename)  # the web's header, to the letter
        return response
