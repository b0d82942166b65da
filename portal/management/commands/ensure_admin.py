"""Create an ``admin`` superuser with a printed one-time password, but only
when the database has no user at all (so re-running `make run` is safe)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from portal.actor import Actor
from portal.services.accounts import admin_create_first


def site_address() -> str:
    """Where this server answers, from BIND (a wildcard address is reached as 127.0.0.1 here)."""
    host, _sep, port = settings.BIND.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):  # noqa: S104 - a wildcard bind, reached through loopback here
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    scheme = "http" if settings.LOCAL_HTTP or settings.DEBUG else "https"
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


class Command(BaseCommand):
    help = "Create the first superuser (admin) if no user exists yet."

    def handle(self, *args: object, **options: object) -> None:
        created = admin_create_first(actor=Actor.system())
        if created is None:
            self.stdout.write("Users exist; no admin created.")
            return
        _user, password = created
        line = "=" * 72
        address = site_address()
        self.stdout.write(
            f"{line}\nCreated superuser 'admin' with one-time password: {password}\n"
            f"Sign in at {address}/ and choose a new password: the first sign-in opens\n"
            f"Change password ({address}{reverse('password_change')}) by itself. Then add your\n"
            f"email address in Settings, so that a password reset can reach you.\n{line}"
        )
