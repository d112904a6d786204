"""The Linux process table (``/proc``), read for leak checks and process groups.

Used by the conformance kit (which processes did a component leave behind?) and by
providers that manage process groups. On hosts without ``/proc`` nothing is listed and
:func:`has_procfs` is False, so callers fall back to probing with signals.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import attrs

PROC = Path("/proc")


@attrs.frozen
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` plait looks at."""

    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int = 0

    @property
    def live(self) -> bool:
        """False for zombies and dead entries (exited, not yet reaped)."""
        return self.state not in ("Z", "X")


def has_procfs() -> bool:
    """True where the process table can be read."""
    return PROC.is_dir()


def read_stat(pid: int) -> ProcStat | None:
    """Process ``pid``'s stat line, or None when there is no such process."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
    fields = text.rsplit(")", 1)[-1].split()
    if len(fields) < 4:
        return None
    return ProcStat(pid, fields[0], int(fields[1]), int(fields[2]), int(fields[3]))


def all_stats() -> Iterator[ProcStat]:
    """Every process on this host (none without ``/proc``)."""
    if not has_procfs():
        return
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None:
                yield stat


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists on this host and is not a zombie."""
    if has_procfs():
        stat = read_stat(pid)
        return stat is not None and stat.live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_session(sid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to every process of session ``sid`` (its leader's process group
    without ``/proc``): also to those in process groups of their own, as Open MPI puts
    its ranks."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, sig)
    for stat in all_stats():
        if stat.session == sid and stat.live:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(stat.pid, sig)
