"""The transcription admin: jobs (steered through the job services) and
read-mostly views of media, transcripts, revisions, webhooks and exports.
django-q2 registers its own admin for tasks and schedules."""

from transcription.admin import jobs, records  # noqa: F401  (registers the ModelAdmins)
