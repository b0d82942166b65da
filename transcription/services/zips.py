"""ZIP uploads: every audio/video member becomes a job named by its path in
the archive.

The archive's directory is checked first, before anything is extracted:
unsafe paths (``../``, absolute, drive letters) and symlinks reject the whole
archive, and so do zip-bomb signs (too many members, too much uncompressed
data, a compression ratio no audio reaches). Members then stream out one at a
time to a temporary file, are probed, and are stored; non-media members are
skipped with a reason.
"""

from __future__ import annotations

import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

MB = 1024 * 1024
# Ratios are only meaningful for members big enough to matter.
RATIO_MIN_BYTES = 1 * MB
# Written by operating systems, never by the person who made the archive.
_SYSTEM_FILES = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|\._[^/]*$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")


class ZipRejected(Exception):
    """The whole archive is refused; str(e) is for the user."""


@dataclass
class ZipMember:
    info: zipfile.ZipInfo
    name: str  # path inside the archive, as the user knows it
    problem: str = ""  # non-empty: skip this member, with this reason


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's path, decoded the way the archiver meant it. Without the
    UTF-8 flag Python reads names as cp437; archives made on Chinese Windows
    use GBK, macOS uses UTF-8 without setting the flag."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = None
        if raw is not None:
            for encoding in ("utf-8", "gb18030"):
                try:
                    name = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
    return unicodedata.normalize("NFC", name.replace("\\", "/"))


def is_unsafe_path(name: str) -> bool:
    return (
        name.startswith("/")
        or bool(_DRIVE.match(name))
        or "\x00" in name
        or any(part == ".." for part in name.split("/"))
    )


def is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _limit_bytes(mb: int) -> int:
    return mb * MB


def zip_plan(zf: zipfile.ZipFile, *, archive_size: int) -> list[ZipMember]:
    """Validate the archive's directory; return the file members to process.
    Raises ZipRejected if the archive must not be unpacked at all."""
    infos = zf.infolist()
    if len(infos) > settings.ZIP_MAX_MEMBERS:
        raise ZipRejected(_("This ZIP file has %(n)d entries; at most %(max)d are allowed.") % {
            "n": len(infos), "max": settings.ZIP_MAX_MEMBERS})
    members: list[ZipMember] = []
    total = 0
    max_file = _limit_bytes(settings.MAX_UPLOAD_MB)
    for info in infos:
        name = member_name(info)
        if is_unsafe_path(name):
            raise ZipRejected(_("This ZIP file contains an unsafe path (%(name)s); nothing was extracted.") % {
                "name": name[:200]})
        if is_symlink(info):
            raise ZipRejected(_("This ZIP file contains a symbolic link (%(name)s); nothing was extracted.") % {
                "name": name[:200]})
        if info.is_dir() or _SYSTEM_FILES.search(name):
            continue
        total += info.file_size
        if info.file_size >= RATIO_MIN_BYTES and (
            info.compress_size == 0 or info.file_size / info.compress_size > settings.ZIP_MAX_RATIO
        ):
            raise ZipRejected(_("This ZIP file looks like a zip bomb (%(name)s expands more than %(ratio)d "
                                "times); nothing was extracted.") % {"name": name[:200],
                                                                      "ratio": settings.ZIP_MAX_RATIO})
        problem = ""
        if info.flag_bits & 0x1:
            problem = _("This file is encrypted (password-protected ZIP).")
        elif info.file_size > max_file:
            problem = _("This file is larger than the limit of %(mb)d MB.") % {"mb": settings.MAX_UPLOAD_MB}
        elif name.lower().endswith(".zip"):
            problem = _("ZIP files inside a ZIP file are not unpacked.")
        members.append(ZipMember(info=info, name=name, problem=problem))
    if total > _limit_bytes(settings.ZIP_MAX_TOTAL_MB):
        raise ZipRejected(_("This ZIP file expands to %(size)d MB; at most %(max)d MB are allowed.") % {
            "size": total // MB, "max": settings.ZIP_MAX_TOTAL_MB})
    if total > RATIO_MIN_BYTES and archive_size and total / archive_size > settings.ZIP_MAX_RATIO:
        raise ZipRejected(_("This ZIP file looks like a zip bomb (it expands more than %(ratio)d times); "
                            "nothing was extracted.") % {"ratio": settings.ZIP_MAX_RATIO})
    if not members:
        raise ZipRejected(_("This ZIP file is empty."))
    return members


class MemberDamaged(Exception):
    pass


@contextmanager
def zip_extract(zf: zipfile.ZipFile, member: ZipMember) -> Iterator[tuple[str, int]]:
    """Stream one member to a temporary file; yields (path, size). The size
    is enforced while copying, whatever the directory claimed."""
    limit = member.info.file_size
    with tempfile.NamedTemporaryFile(prefix="zip-", suffix=".member", dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        written = 0
        try:
            with zf.open(member.info) as src:
                while chunk := src.read(1024 * 1024):
                    written += len(chunk)
                    if written > limit:
                        raise MemberDamaged(_("This file is bigger than the ZIP directory says; it was skipped."))
                    tmp.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
            raise MemberDamaged(_("This file is damaged inside the ZIP file (%(error)s).") % {"error": e}) from e
        tmp.flush()
        yield tmp.name, written


def zip_open(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
        raise ZipRejected(_("This ZIP file is damaged and cannot be read.")) from e

