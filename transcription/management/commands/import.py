"""manage.py import DIR --project <id> [--user <username>]

For files already on the server: every audio/video file under DIR (and every
media member of a ZIP there) becomes a queued job in the project, named by
its path relative to DIR. Anything else is skipped, with the reason printed.
The originals are copied into storage and left in place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.actor import Actor
from portal.models import Project
from transcription.services.uploads import display_name, paths_accept


class Command(BaseCommand):
    help = "Queue every audio/video file under a folder as a job in a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", help="folder to import (walked recursively)")
        parser.add_argument("--project", required=True, help="id of the project the jobs go to")
        parser.add_argument("--user", help="username recorded as the uploader (default: none)")

    def handle(self, *args: Any, directory: str, project: str, user: str | None, **options: Any) -> None:
        root = Path(directory)
        if not root.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        try:
            target = Project.objects.get(pk=project)
        except (Project.DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"No project with id {project}.")
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"No user named {user}.")

        paths: list[tuple[str, str]] = []
        links = 0
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                name = display_name(path.relative_to(root).as_posix(), keep_dirs=True)
                if path.is_symlink():
                    self.stdout.write(f"skipped {name}: symbolic links are not followed")
                    links += 1
                    continue
                paths.append((str(path), name))
        # Through the same action as an upload: checks, the rejections list and the audit log.
        result = paths_accept(actor=Actor.of(owner), project=target, paths=paths)
        for job in result.jobs:
            self.stdout.write(f"queued  {job.media.original_name} ({job.pk})")
        for rejection in result.rejected:
            self.stdout.write(f"skipped {rejection.filename}: {rejection.error}")
        queued, skipped = len(result.jobs), len(result.rejected) + links
        self.stdout.write(self.style.SUCCESS(
            f"{queued} job{'s' if queued != 1 else ''} queued, {skipped} file{'s' if skipped != 1 else ''} skipped."
        ))
