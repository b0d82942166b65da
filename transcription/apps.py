from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    name = "transcription"
    verbose_name = "Transcription"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate
        from django_q.signals import post_spawn

        from transcription.services.schedules import schedules_ensure
        from transcription.services.worker_process import on_worker_spawn

        # The reaper and webhook schedules exist after every migrate (and
        # after a test flush, which re-sends post_migrate).
        post_migrate.connect(schedules_ensure, sender=self, dispatch_uid="transcription.schedules_ensure")
        # Every worker process of a qcluster drains the ASR queue by itself.
        post_spawn.connect(on_worker_spawn, dispatch_uid="transcription.on_worker_spawn")
