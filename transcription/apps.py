from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    name = "transcription"
    verbose_name = "Transcription"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from transcription.services.schedules import schedules_ensure

        # The reaper and webhook schedules exist after every migrate (and
        # after a test flush, which re-sends post_migrate).
        post_migrate.connect(schedules_ensure, sender=self, dispatch_uid="transcription.schedules_ensure")
