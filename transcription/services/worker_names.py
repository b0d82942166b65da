"""Worker names, and knowing at once that a worker of this node is gone.

A worker is named ``node:pid:start``: NODE_NAME (the host name by default;
it must differ between hosts), its process id, and a token for that
process's start (its start time since boot and the boot's id, read from
/proc). A pid the system reuses later gets a different token, so a running
job whose worker is of this node and whose pid no longer carries that token
belongs to a process that is gone: it can be requeued at once instead of
waiting JOB_STALE_SECONDS for its heartbeat to go stale. Without /proc the
token is random and nothing is judged gone here (staleness still is).
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

from django.conf import settings

_PROC = Path("/proc")
_named: tuple[int, str] | None = None  # (pid, name): a forked child names itself anew


def node_name() -> str:
    return settings.NODE_NAME or socket.gethostname()


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:8]
    except OSError:
        return ""


def _start_token(pid: int) -> str | None:
    """The start of process ``pid`` as ``<ticks since boot>.<boot id>``; None if there is no such process."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid ...: comm may hold spaces; starttime is the 20th field after it
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):  # ended, not yet waited for by its parent
        return None
    return f"{fields[19]}.{_boot_id()}"


def worker_name() -> str:
    """This process's worker name (computed once per process)."""
    global _named
    pid = os.getpid()
    if _named is None or _named[0] != pid:
        token = _start_token(pid) or uuid.uuid4().hex[:12]
        _named = (pid, f"{node_name()}:{pid}:{token}")
    return _named[1]


def node_prefix() -> str:
    """What every worker name of this node starts with."""
    return f"{node_name()}:"


def worker_gone(name: str) -> bool:
    """True only when ``name`` is a worker of this node whose process has ended.
    Other nodes' workers, and names this node cannot check, are never gone here."""
    parts = name.rsplit(":", 2)
    if len(parts) != 3:
        return False
    node, pid, token = parts
    if node != node_name() or not pid.isdigit() or not token or not _PROC.joinpath("self").exists():
        return False
    return _start_token(int(pid)) != token
