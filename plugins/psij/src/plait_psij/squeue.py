"""Queue polling for PSI/J's ``slurm`` executor that survives every ``squeue`` line.

PSI/J 0.9 polls ``squeue -O JobArrayID,StateCompact,Reason -t all --me`` and asserts that
each line splits into three words. Slurm's reason for a job pending on a partition its
account may not use is a sentence ("Job's account not known, so it can't use this
partition ..."), and ``squeue`` shows it for every job of the user, for as long as Slurm
keeps the job (``MinJobAge``, 300 s by default) after it ended. While such a line is
there, every poll fails and all of the executor's jobs stay ``QUEUED`` whatever they do.

:func:`install` replaces the executor's status command and parser (on the instance, with
PSI/J's own state and reason tables) by ones that read ``squeue -h -o "%i %t %r"`` with
the reason as the rest of the line. They also keep what PSI/J drops:

* the Slurm state code (``TO`` for a job ended at its time limit, ``CA``...) in the
  status ``metadata`` under ``"slurm_state"``, so that a time limit is told from a
  failure;
* the reason a job is pending (:meth:`SqueueStatus.pending_reason`), so that a block
  that Slurm will never start can be reported (:func:`plait.slurm.never_starts`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psij import JobExecutor, JobStatus

logger = logging.getLogger(__name__)

COMMAND = ["squeue", "--me", "-t", "all", "-h", "-o", "%i %t %r"]
"""The status command: every job of the user, ended ones included, one per line."""


class SqueueStatus:
    """The status command and parser for one executor of PSI/J Slurm executor class
    ``cls`` (whose state and reason tables it uses)."""

    def __init__(self, cls: type[JobExecutor]) -> None:
        self._states: dict[str, Any] = dict(getattr(cls, "_STATE_MAP", {}))
        self._reasons: dict[str, str] = dict(getattr(cls, "_REASONS_MAP", {}))
        self._lock = threading.Lock()
        self._watched: set[str] = set()
        self._pending: dict[str, str] = {}

    def command(self, native_ids: Collection[str]) -> list[str]:
        """The ``squeue`` command line (the ids are remembered for the pending reasons)."""
        with self._lock:
            self._watched = set(native_ids)
        return list(COMMAND)

    def parse(self, exit_code: int, out: str) -> dict[str, JobStatus]:
        """PSI/J statuses of the jobs ``squeue`` listed; raises (as PSI/J does) when
        ``squeue`` failed, so that PSI/J counts a polling error."""
        import psij

        if exit_code != 0:
            raise RuntimeError(f"squeue exited with {exit_code}: {out.strip()!r}")
        statuses: dict[str, JobStatus] = {}
        pending: dict[str, str] = {}
        with self._lock:
            watched = set(self._watched)
        for line in out.splitlines():
            words = line.split(None, 2)
            if len(words) < 2:
                continue
            native_id, code = words[0], words[1]
            reason = words[2].strip() if len(words) == 3 else ""
            state = self._states.get(code)
            if state is None:
                logger.warning(
                    "squeue: unknown state %r of job %s; taken as running", code, native_id
                )
                state = psij.JobState.ACTIVE
            message = None
            if state == psij.JobState.FAILED:
                message = self._reasons.get(reason, reason or None)
            metadata: dict[str, object] = {"slurm_state": code, "reason": reason}
            statuses[native_id] = psij.JobStatus(state, message=message, metadata=metadata)
            if code == "PD" and native_id in watched:
                pending[native_id] = reason
        with self._lock:
            self._pending = pending
        return statuses

    def pending_reason(self, native_id: str) -> str | None:
        """Why Slurm keeps job ``native_id`` pending, as of the last poll (None when it
        was not pending)."""
        with self._lock:
            return self._pending.get(native_id)


def install(executor: JobExecutor) -> SqueueStatus:
    """Make PSI/J Slurm executor ``executor`` poll with :class:`SqueueStatus`."""
    status = SqueueStatus(type(executor))
    setattr(executor, "get_status_command", status.command)  # noqa: B010 (on the instance)
    setattr(executor, "parse_status_output", status.parse)  # noqa: B010
    return status
