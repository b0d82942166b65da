"""Stored media files."""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage

log = logging.getLogger(__name__)


def media_delete_files(*, names: list[str]) -> None:
    """Remove stored files; a missing file is not an error."""
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except OSError:
            log.warning("could not delete stored file %s", name, exc_info=True)
