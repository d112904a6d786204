"""From a PSI/J job status to a block's :class:`~plait.interfaces.JobStatus`.

The table of ``interface-specs/provider.md``: ``NEW``/``QUEUED`` -> ``PENDING``,
``ACTIVE`` -> ``RUNNING``, ``COMPLETED``, ``FAILED`` and ``CANCELED`` -> ``CANCELLED``.
PSI/J has no timeout state: its Slurm executor reports a job Slurm ended at its time
limit ``FAILED`` ("The job exhausted its time limit."). A ``FAILED`` job is reported
``TIMEOUT`` when the block's guard recorded that it ended the block at its walltime, when
``squeue`` said ``TO`` (see :mod:`plait_psij.squeue`), or when PSI/J's message speaks of
the time limit. A job the provider cancelled is ``CANCELLED`` when PSI/J says
``FAILED`` too: PSI/J's local executor reports ``FAILED`` (after ``CANCELED``) when its
launcher script exits on its own once its child was killed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plait.interfaces import JobState

if TYPE_CHECKING:
    from psij import JobStatus as PsijStatus

STATES = {
    "NEW": JobState.PENDING,
    "QUEUED": JobState.PENDING,
    "ACTIVE": JobState.RUNNING,
    "COMPLETED": JobState.COMPLETED,
    "FAILED": JobState.FAILED,
    "CANCELED": JobState.CANCELLED,
}
"""PSI/J state name -> block state."""


def translate(
    status: PsijStatus, job_id: str, *, cancelled_by_plait: bool, walltime_reached: bool
) -> tuple[JobState, str | None, int | None]:
    """``(state, message, exit_code)`` of block ``job_id`` whose PSI/J status is
    ``status``; ``cancelled_by_plait``: the provider cancelled it; ``walltime_reached``:
    its guard ended it at the walltime."""
    name = str(status.state)
    state = STATES.get(name, JobState.UNKNOWN)
    said = status.message.strip() if status.message else None
    if state is JobState.COMPLETED:
        return state, None, 0 if status.exit_code is None else status.exit_code
    if cancelled_by_plait and state in (JobState.CANCELLED, JobState.FAILED):
        return JobState.CANCELLED, "cancelled", None
    if state is JobState.CANCELLED:
        return state, f"job {job_id} was cancelled outside plait (PSI/J: CANCELED)", None
    if state is JobState.FAILED:
        if walltime_reached or _time_limit(status):
            detail = f" ({said})" if said else ""
            return JobState.TIMEOUT, f"job {job_id} was ended at its walltime{detail}", None
        if said is None and status.exit_code is not None:
            said = f"the block's command exited with status {status.exit_code}"
        return state, f"job {job_id} failed: {said or 'PSI/J gives no reason'}", status.exit_code
    if state is JobState.UNKNOWN:
        return state, f"job {job_id}: PSI/J state {name} is not known to plait", None
    return state, None, None


def _time_limit(status: PsijStatus) -> bool:
    metadata = status.metadata or {}
    if metadata.get("slurm_state") == "TO":
        return True
    return "time limit" in (status.message or "").lower()
