"""Language-model insights and questions about a transcript (DESIGN §7, issue 24)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import DetailSerializer, StrictCharField
from portal.access import authorize
from portal.actor import Actor, Via
from transcription.access import get_transcript_for_user
from transcription.actions.insights import insight_request, question_ask
from transcription.models import Insight, InsightKind, LlmStatus, Question
from transcription.queries.insights import insights_for_transcript, insights_unavailable_reason

# (A plain string in the schema: the same values as a job's status, another enum would collide.)
STATUS_HELP = "One of " + ", ".join(LlmStatus.values) + "."
ERRORS = {401: DetailSerializer, 403: DetailSerializer, 404: DetailSerializer}


class ReferenceSerializer(serializers.Serializer):
    segment = serializers.IntegerField()
    start = serializers.FloatField()
    end = serializers.FloatField()


class InsightSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=InsightKind.choices)
    template = serializers.CharField(source="template_name", help_text="The template's name (kind template).")
    language = serializers.CharField(help_text="The output language asked for (\"\": the transcript's).")
    status = serializers.CharField(help_text=STATUS_HELP)
    stale = serializers.BooleanField(help_text="Made before the transcript's latest edit: regenerate it.")
    created_at = serializers.DateTimeField()
    model = serializers.CharField()
    parts = serializers.IntegerField(help_text="The sections a long transcript was worked in.")
    content = serializers.JSONField(allow_null=True, help_text=(
        "Per kind: summary {text, points}; action_items [{text, owner, due, segment, start}]; decisions "
        "[{text, segment, start}]; chapters [{title, segment, start, end}]; written {text, paragraphs}; "
        "template {text}. Times are seconds, taken from the transcript's segments."))
    references = ReferenceSerializer(many=True)
    removed_references = serializers.IntegerField(help_text="Segment numbers the model gave that the transcript "
                                                             "does not have (dropped).")
    error = serializers.CharField()


class InsightListSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why not, when not available.")
    items = InsightSerializer(many=True)


class InsightRequestSerializer(serializers.Serializer):
    kind = StrictCharField(help_text="summary, action_items, decisions, chapters, written or template")
    template = serializers.IntegerField(required=False, help_text="With kind template: the project template's id.")
    language = StrictCharField(required=False, allow_blank=True, max_length=16,
                               help_text="Output language (zh, en, ja...); default: the transcript's.")


class QuestionRequestSerializer(serializers.Serializer):
    question = StrictCharField(max_length=1000)
    language = StrictCharField(required=False, allow_blank=True, max_length=16)


class QuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.CharField()
    status = serializers.CharField(help_text=STATUS_HELP)
    answer = serializers.CharField()
    references = ReferenceSerializer(many=True)
    removed_references = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()


def insight_data(insight: Insight, *, stale: bool) -> dict[str, Any]:
    return InsightSerializer({**{f: getattr(insight, f) for f in (
        "id", "kind", "template_name", "language", "status", "created_at", "model", "parts", "content",
        "references", "removed_references", "error")}, "stale": stale}).data


class InsightListView(APIView):
    @extend_schema(operation_id="transcripts_insights_list", summary="Insights made from a transcript",
                   description="The latest insight of each kind. available is false when the feature is off on "
                               "this server or the team does not allow it (reason says which).",
                   responses={200: InsightListSerializer, **ERRORS})
    def get(self, request: Request, transcript_id: UUID) -> Response:
        transcript = get_transcript_for_user(request.user, transcript_id)
        reason = insights_unavailable_reason(transcript=transcript)
        items = [insight_data(v.insight, stale=v.stale) for v in insights_for_transcript(transcript=transcript)]
        return Response({"available": not reason, "reason": reason, "items": items})

    @extend_schema(operation_id="transcripts_insights_create", summary="Ask for an insight",
                   description="Queued for the language model (202); poll the list. 400 for an unknown kind, "
                               "409 when the feature is off, the team forbids it, the monthly budget is used up, "
                               "or one of this kind is already being made.",
                   request=InsightRequestSerializer,
                   responses={202: InsightSerializer, 400: DetailSerializer, 409: DetailSerializer, **ERRORS})
    def post(self, request: Request, transcript_id: UUID) -> Response:
        transcript = get_transcript_for_user(request.user, transcript_id, write=True)
        serializer = InsightRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        insight = insight_request(actor=Actor.from_request(request._request, via=Via.API), transcript=transcript,
                                  kind=data["kind"], template=data.get("template"), language=data.get("language", ""))
        return Response(insight_data(insight, stale=False), status=202)


def question_data(question: Question) -> dict[str, Any]:
    return QuestionSerializer(question).data


class QuestionCreateView(APIView):
    @extend_schema(operation_id="transcripts_questions_create", summary="Ask the transcript a question",
                   description="Queued for the language model (202); the answer cites the segments it used.",
                   request=QuestionRequestSerializer,
                   responses={202: QuestionSerializer, 400: DetailSerializer, 409: DetailSerializer, **ERRORS})
    def post(self, request: Request, transcript_id: UUID) -> Response:
        transcript = get_transcript_for_user(request.user, transcript_id, write=True)
        serializer = QuestionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        question = question_ask(actor=Actor.from_request(request._request, via=Via.API), transcript=transcript,
                                question=serializer.validated_data["question"],
                                language=serializer.validated_data.get("language", ""))
        return Response(question_data(question), status=202)


class QuestionDetailView(APIView):
    @extend_schema(operation_id="questions_retrieve", summary="A question and its answer",
                   responses={200: QuestionSerializer, **ERRORS})
    def get(self, request: Request, question_id: int) -> Response:
        question = Question.objects.select_related("transcript__job__project").filter(pk=question_id).first()
        if question is None:
            raise Http404
        authorize(request.user, question.transcript.job.project.team_id)
        return Response(question_data(question))
