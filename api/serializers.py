"""Request and response shapes of API v1 (DESIGN §7), field names exactly as written there."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.errors import Invalid
from portal.inputs import text_validator
from portal.models import Project, Role, Team
from transcription.models import Job, JobStatus, ReviewStatus, Segment, Transcript
from transcription.services.accuracy import transcript_measure
from transcription.services.job_options import (
    HOTWORD_PATTERN,
    MAX_HOTWORD_CHARS,
    MAX_HOTWORDS,
    hotwords_check,
    job_speakers,
)


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField would turn {"name": 0} into the name "0"."""

    default_error_messages = {"invalid": _("Not a valid string.")}

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        # The input rule of portal.inputs (NUL and other control characters); as a regex
        # validator it is also in the schema, as a pattern.
        self.validators.append(text_validator)

    def to_internal_value(self, data):  # noqa: ANN001, ANN201 - DRF's signature
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class HotwordField(StrictCharField):
    """One hotword, checked by the hotword rule (with its reasons); the schema states the rule's
    characters as the pattern."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_length=MAX_HOTWORD_CHARS, allow_blank=True, **kwargs)
        # first: drf-spectacular writes the first pattern it finds into the schema
        self.validators.insert(0, RegexValidator(HOTWORD_PATTERN))

    def to_internal_value(self, data):  # noqa: ANN001, ANN201 - DRF's signature
        value = super().to_internal_value(data)
        try:
            hotwords_check([value])
        except Invalid as exc:
            raise serializers.ValidationError(exc.message) from None
        return value


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string (DRF's UUIDField also takes integers)."""

    def to_internal_value(self, data):  # noqa: ANN001, ANN201
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.CharField: StrictCharField, models.TextField: StrictCharField}


class DetailSerializer(serializers.Serializer):
    """Every error: a readable "detail"; invalid fields also list their messages in "errors"."""

    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.JSONField(), required=False,
        help_text=_("Per field, its messages: a list of strings, or for list and nested fields the same shape "
                    "per item."))

    class Meta:
        ref_name = "Error"


class LoginSerializer(serializers.Serializer):
    username = StrictCharField(max_length=254)
    password = StrictCharField(max_length=4096, trim_whitespace=False,
                                     style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Send it as `Authorization: Token <token>`. Shown only once."))


class TeamSerializer(StrictModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, read_only=True,
                                   help_text=_("Your role in the team."))

    class Meta:
        model = Team
        fields = ["id", "name", "role"]
        read_only_fields = ["id"]


class MemberSerializer(serializers.Serializer):
    username = StrictCharField(max_length=254, help_text=_("Username or email of an existing user."))
    role = serializers.ChoiceField(choices=Role.choices)


class ProjectSerializer(StrictModelSerializer):
    team = StrictUUIDField(source="team_id")
    hotwords = serializers.ListField(
        child=HotwordField(), required=False,
        max_length=MAX_HOTWORDS,
        help_text=_("Names and terms the recogniser should favour, without commas or line breaks."),
    )

    class Meta:
        model = Project
        fields = ["id", "team", "name", "hotwords"]
        read_only_fields = ["id"]

    def validate_hotwords(self, value: list[str]) -> list[str]:
        try:
            return hotwords_check(value)
        except Invalid as exc:
            raise serializers.ValidationError(exc.message) from None


class UploadFilesSerializer(serializers.Serializer):
    file = serializers.ListField(
        child=serializers.FileField(),
        help_text=_("Repeat the field for several files. Audio, video, or a .zip of them."),
    )
    urgent = serializers.BooleanField(
        required=False, default=False,
        help_text=_("Put these files ahead of the fair-share order; only where the team allows urgent uploads."))
    preset = StrictCharField(required=False, allow_blank=True, max_length=64,
                                   help_text=_("A model preset of this server (ASR_PRESETS); default: the project's."))
    speakers = StrictCharField(required=False, allow_blank=True, max_length=8,
                                     help_text=_("off, auto or 2 to 10; default: the project's."))
    hotwords = StrictCharField(required=False, allow_blank=True,
                               help_text=_("Comma-separated words to favour, added to the project's hotwords."))


class JobOptionsSerializer(serializers.Serializer):
    preset = serializers.CharField()
    speakers = serializers.CharField(help_text=_("off, auto or 2 to 10"))
    hotwords = serializers.ListField(child=serializers.CharField(), help_text=_("The upload's own hotwords."))


def job_options_json(job: Job) -> dict:
    options = job.options or {}
    return {"preset": options.get("preset") or "", "speakers": job_speakers(options),
            "hotwords": list(options.get("hotwords") or [])}


class UploadedJobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    filename = serializers.CharField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    options = JobOptionsSerializer(help_text=_("What the job was asked to use."))


class RejectionSerializer(serializers.Serializer):
    filename = serializers.CharField()
    error = serializers.CharField()


class UploadResultSerializer(serializers.Serializer):
    jobs = UploadedJobSerializer(many=True)
    rejected = RejectionSerializer(many=True)


class UploadRejectedSerializer(UploadResultSerializer):
    detail = serializers.CharField()


class JobSerializer(serializers.ModelSerializer):
    project = serializers.UUIDField(source="project_id")
    filename = serializers.CharField(source="media.original_name")
    queue_position = serializers.SerializerMethodField(
        help_text=_("1 = next to run; null unless queued."))
    transcript = serializers.SerializerMethodField(help_text=_("Transcript id once the job succeeded."))
    options = serializers.SerializerMethodField(help_text=_("What the job was asked to use."))

    class Meta:
        model = Job
        fields = ["id", "project", "filename", "status", "progress", "queue_position", "attempts",
                  "error", "audio_seconds", "created_at", "started_at", "finished_at", "transcript", "options"]
        read_only_fields = fields

    @extend_schema_field(JobOptionsSerializer)
    def get_options(self, job: Job) -> dict:
        return job_options_json(job)

    def get_queue_position(self, job: Job) -> int | None:
        return self.context.get("queue_positions", {}).get(job.pk)

    @extend_schema_field({"type": "string", "format": "uuid", "nullable": True})
    def get_transcript(self, job: Job) -> str | None:
        try:
            return str(job.transcript.pk)
        except Transcript.DoesNotExist:
            return None


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ["index", "start", "end", "text", "speaker"]
        read_only_fields = fields


class SegmentEditSerializer(serializers.Serializer):
    text = StrictCharField(allow_blank=True, trim_whitespace=False, max_length=10000)


class TranscriptSerializer(serializers.ModelSerializer):
    job = serializers.UUIDField(source="job_id")
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices)
    segments = SegmentSerializer(many=True)

    class Meta:
        model = Transcript
        fields = ["id", "job", "text", "review_status", "segments"]
        read_only_fields = fields

    def to_representation(self, instance: Transcript) -> dict:
        data = super().to_representation(instance)
        # once approved: the machine's first text against the approved one (services/accuracy.py)
        if (measure := transcript_measure(transcript=instance)) is not None:
            data["machine_error_rate"] = round(measure.rate, 4)
        return data


class AccuracySerializer(serializers.Serializer):
    transcripts = serializers.IntegerField(help_text=_("Approved transcripts."))
    rewritten = serializers.IntegerField(help_text=_("Of those, rewritten beyond half (not in the error rate)."))
    units = serializers.IntegerField(help_text=_("Characters (Chinese) and words (other languages) approved."))
    error_rate = serializers.FloatField(allow_null=True, help_text=_("The machine's errors per unit."))


class AccuracyPresetSerializer(AccuracySerializer):
    preset = serializers.CharField()


class AccuracyMonthSerializer(AccuracySerializer):
    month = serializers.CharField(help_text=_("YYYY-MM of approval."))


class AccuracyWorstSerializer(serializers.Serializer):
    transcript = serializers.UUIDField()
    file = serializers.CharField()
    error_rate = serializers.FloatField()
    rewritten = serializers.BooleanField()


class ProjectAccuracySerializer(AccuracySerializer):
    by_preset = AccuracyPresetSerializer(many=True)
    by_month = AccuracyMonthSerializer(many=True)
    worst = AccuracyWorstSerializer(many=True)
