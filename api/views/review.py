"""Moving a transcript through the review workflow (draft, in review, approved)."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import DetailSerializer, StrictCharField
from portal.actor import Actor, Via
from transcription.access import get_transcript_for_user
from transcription.models import Transcript
from transcription.review_states import ReviewStatus
from transcription.services.review import review_status_set


class ReviewRequestSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReviewStatus.choices)
    reviewer = StrictCharField(required=False, allow_blank=True, max_length=150,
                               help_text="With status in_review: the username of the member asked to review it "
                                         "(they are emailed).")


class ReviewSerializer(serializers.ModelSerializer):
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices)
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Transcript
        fields = ["id", "review_status", "submitted_by", "reviewer", "approved_by", "approved_at"]
        read_only_fields = fields


class ReviewView(APIView):
    @extend_schema(
        operation_id="transcripts_review", summary="Move a transcript through review",
        description="draft → in_review → approved, and back. With the team's rule \"a second person approves\" "
                    "(on by default), whoever submitted it for review cannot approve it (403). Reopening an "
                    "approved transcript is for owners, admins and its approver (403 for others). A step the "
                    "workflow does not have (draft → approved) is 400.",
        request=ReviewRequestSerializer,
        responses={200: ReviewSerializer, 400: DetailSerializer, 401: DetailSerializer, 403: DetailSerializer,
                   404: DetailSerializer},
    )
    def post(self, request: Request, transcript_id: UUID) -> Response:
        transcript = get_transcript_for_user(request.user, transcript_id, write=True)
        serializer = ReviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transcript = review_status_set(actor=Actor.from_request(request._request, via=Via.API), transcript=transcript,
                                       status=serializer.validated_data["status"],
                                       reviewer=serializer.validated_data.get("reviewer", ""))
        return Response(ReviewSerializer(transcript).data)
