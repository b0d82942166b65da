from typing import Any

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def cache_table_ensure(*, using: str = "default", **_kwargs: Any) -> None:
    """The database cache's table (throttle counts without Redis) exists after every migrate."""
    call_command("createcachetable", database=using, verbosity=0)


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Teams and projects"

    def ready(self) -> None:
        post_migrate.connect(cache_table_ensure, sender=self, dispatch_uid="portal.cache_table_ensure")
