"""Download file names derived from what users called their files, safe to
save on every OS, and the Content-Disposition header that carries them."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# Windows refuses these as a name (with any extension).
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
# Reserved on Windows or macOS, or awkward in shells; control characters too.
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
# 255 bytes is the common file-name limit (ext4, APFS, NTFS counts UTF-16
# units, which UTF-8 bytes always bound); leave room for an extension and a
# " (2)" suffix.
MAX_STEM_BYTES = 180


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def safe_stem(name: str, *, default: str = "transcript") -> str:
    """The base name of a user-supplied file name without its extension,
    cleaned so it can be saved anywhere. CJK and other letters are kept."""
    name = unicodedata.normalize("NFC", name or "")
    # Strip any directory part, whichever separator the uploader's OS used.
    name = re.split(r"[\\/]", name)[-1]
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 5 and ext.isalnum():
        name = stem
    name = re.sub(r"\s+", " ", name).strip()
    name = _UNSAFE.sub("_", name)
    # Windows drops trailing dots and spaces; leading dots hide files on Unix.
    name = name.strip(". ")
    name = _truncate_utf8(name, MAX_STEM_BYTES).rstrip(". ")
    if not name:
        return default
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = f"_{name}"
    return name


def safe_filename(name: str, extension: str, *, default: str = "transcript") -> str:
    return f"{safe_stem(name, default=default)}.{extension}"


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``stem (2).ext`` etc. if another entry already uses it
    (compared case-insensitively: Windows and macOS would collide)."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    taken.add(candidate.lower())
    return candidate


def safe_part(name: str, *, default: str = "folder") -> str:
    """One folder or file name of a path, cleaned like safe_stem but keeping any extension."""
    name = re.sub(r"\s+", " ", unicodedata.normalize("NFC", name or "")).strip()
    name = _truncate_utf8(_UNSAFE.sub("_", name).strip(". "), MAX_STEM_BYTES).rstrip(". ")
    if not name:
        return default
    if name.split(".")[0].upper() in _WINDOWS_RESERVED:
        name = f"_{name}"
    return name


def archive_names(originals: list[str], extension: str) -> list[str]:
    """Entry names in a ZIP of exports, one per original file name (paths
    inside an uploaded ZIP keep their folders). ``memo.wav`` becomes
    ``memo.txt``; where two files in one folder share a stem (``memo.wav``,
    ``memo.ogg``) both keep their own extension (``memo.wav.txt``,
    ``memo.ogg.txt``) so nobody has to guess which is which. Only the same
    name uploaded twice falls back to ``memo.wav (2).txt``."""
    split = []
    for original in originals:
        parts = [p for p in re.split(r"[\\/]", unicodedata.normalize("NFC", original or "")) if p.strip()]
        folders = [safe_part(p) for p in parts[:-1]]
        base = parts[-1] if parts else ""
        split.append((folders, safe_stem(base), safe_part(base, default="transcript")))
    stems: dict[tuple[str, str], set[str]] = {}
    for folders, stem, full in split:
        stems.setdefault(("/".join(folders).lower(), stem.lower()), set()).add(full.lower())
    taken: set[str] = set()
    names = []
    for folders, stem, full in split:
        shared = len(stems[("/".join(folders).lower(), stem.lower())]) > 1
        name = f"{full if shared else stem}.{extension}"
        names.append(unique_name("/".join([*folders, name]), taken))
    return names


def content_disposition(filename: str, *, attachment: bool = True) -> str:
    """RFC 6266 header with an ASCII fallback and the RFC 5987 UTF-8 name."""
    kind = "attachment" if attachment else "inline"
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r'[^A-Za-z0-9 ._()\-]', "_", ascii_name).strip()
    if not ascii_name or ascii_name.startswith("."):
        ascii_name = f"download{ascii_name}" if ascii_name.startswith(".") else "download"
    if ascii_name == filename:  # plain ASCII: the one name says it all
        return f'{kind}; filename="{ascii_name}"'
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
