"""Slurm's job states read as plait's :class:`JobState`, and its exit statuses."""

from __future__ import annotations

from plait.interfaces import JobState

STATES: dict[str, JobState] = {
    "PENDING": JobState.PENDING,
    "CONFIGURING": JobState.PENDING,
    "REQUEUED": JobState.PENDING,
    "REQUEUE_FED": JobState.PENDING,
    "RESV_DEL_HOLD": JobState.HELD,
    "REQUEUE_HOLD": JobState.HELD,
    "SUSPENDED": JobState.HELD,
    "STOPPED": JobState.HELD,
    "RUNNING": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
    "SIGNALING": JobState.RUNNING,
    "STAGE_OUT": JobState.RUNNING,
    "COMPLETED": JobState.COMPLETED,
    "FAILED": JobState.FAILED,
    "BOOT_FAIL": JobState.FAILED,
    "DEADLINE": JobState.FAILED,
    "NODE_FAIL": JobState.FAILED,
    "OUT_OF_MEMORY": JobState.FAILED,
    "PREEMPTED": JobState.FAILED,
    "REVOKED": JobState.FAILED,
    "SPECIAL_EXIT": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
    "TIMEOUT": JobState.TIMEOUT,
}
"""Every state ``squeue --states=all`` prints (Slurm 20.11 to 24.x)."""


def job_state(name: str) -> JobState:
    """The :class:`JobState` of a Slurm state name (``CANCELLED by 0`` included); an
    unknown name is ``UNKNOWN`` (never terminal, so it is asked again)."""
    words = name.split()
    return STATES.get(words[0].rstrip("+"), JobState.UNKNOWN) if words else JobState.UNKNOWN


def exit_status(raw: str) -> tuple[int | None, int | None]:
    """``(exit code, signal)`` from squeue's ``exit_code`` field, a wait status
    (``768`` is exit 3, ``9`` is SIGKILL) or ``code:signal`` as scontrol prints it."""
    try:
        if ":" in raw:
            code, signum = (int(part) for part in raw.split(":", 1))
            return code, signum or None
        status = int(raw)
    except ValueError:
        return None, None
    signum = status & 0x7F
    return (status >> 8) & 0xFF, signum or None
