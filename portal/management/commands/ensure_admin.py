"""Create an ``admin`` superuser with a printed one-time password, but only
when the database has no user at all (so re-running `make run` is safe)."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first superuser (admin) if no user exists yet."

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        if User.objects.exists():
            self.stdout.write("Users exist; no admin created.")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password)
        line = "=" * 64
        self.stdout.write(
            f"{line}\nCreated superuser 'admin' with one-time password: {password}\n"
            f"Sign in at http://127.0.0.1:8000/ and change it under Settings.\n{line}"
        )
