"""Request and response shapes of API v1 (DESIGN §7), field names exactly as written there."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.models import Project, Role, Team
from transcription.models import Job, JobStatus, ReviewStatus, Segment, Transcript
from transcription.services.job_options import job_speakers


class DetailSerializer(serializers.Serializer):
    """Every error: a readable "detail"; invalid fields also list their messages in "errors"."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)

    class Meta:
        ref_name = "Error"


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=4096, trim_whitespace=False,
                                     style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Send it as `Authorization: Token <token>`. Shown only once."))


class TeamSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, read_only=True,
                                   help_text=_("Your role in the team."))

    class Meta:
        model = Team
        fields = ["id", "name", "role"]
        read_only_fields = ["id"]


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=254, help_text=_("Username or email of an existing user."))
    role = serializers.ChoiceField(choices=Role.choices)


class ProjectSerializer(serializers.ModelSerializer):
    team = serializers.UUIDField(source="team_id")
    hotwords = serializers.ListField(
        child=serializers.CharField(max_length=50, allow_blank=True), required=False, max_length=200,
        help_text=_("Names and terms the recogniser should favour."),
    )

    class Meta:
        model = Project
        fields = ["id", "team", "name", "hotwords"]
        read_only_fields = ["id"]


class UploadFilesSerializer(serializers.Serializer):
    file = serializers.ListField(
        child=serializers.FileField(),
        help_text=_("Repeat the field for several files. Audio, video, or a .zip of them."),
    )
    urgent = serializers.BooleanField(
        required=False, default=False,
        help_text=_("Put these files ahead of the fair-share order; only where the team allows urgent uploads."))
    preset = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                   help_text=_("A model preset of this server (ASR_PRESETS); default: the project's."))
    speakers = serializers.CharField(required=False, allow_blank=True, max_length=8,
                                     help_text=_("off, auto or 2 to 10; default: the project's."))
    hotwords = serializers.CharField(required=False, allow_blank=True, max_length=2000,
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
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=10000)


class TranscriptSerializer(serializers.ModelSerializer):
    job = serializers.UUIDField(source="job_id")
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices)
    segments = SegmentSerializer(many=True)

    class Meta:
        model = Transcript
        fields = ["id", "job", "text", "review_status", "segments"]
        read_only_fields = fields
