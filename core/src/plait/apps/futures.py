"""The future an app call returns."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import CancelledError
from concurrent.futures._base import CANCELLED_AND_NOTIFIED, FINISHED
from typing import TYPE_CHECKING, Any

from plait.concurrency import LightFuture, cancel_and_notify

if TYPE_CHECKING:
    from plait.data.futures import DataFuture
    from plait.kernel.dfk import DataFlowKernel


class AppFuture(LightFuture[Any]):
    """The result of one app call; a :class:`concurrent.futures.Future`.

    ``tid`` is the task id, ``outputs`` holds a :class:`~plait.DataFuture` per file in
    the call's ``outputs``. :meth:`cancel` stops a task that has not started, and a
    launched task when its executor declares the ``cancel`` capability; tasks that
    depend on a cancelled task are cancelled too. :meth:`logs` gives what the task
    logged to :func:`plait.app_logger`.
    """

    def __init__(self, tid: int, task_name: str, kernel: DataFlowKernel) -> None:
        super().__init__()
        self.tid = tid
        self.task_name = task_name
        self.outputs: Sequence[DataFuture] = ()
        self.stdout: str | None = None
        self.stderr: str | None = None
        self._kernel = kernel
        self._app_logs: list[str] = []

    def logs(self, timeout: float | None = None) -> list[str]:
        """The records the task's final attempt logged to :func:`plait.app_logger`, one
        string per record, formatted as in ``<run dir>/tasks/<task id>.log``.

        Waits for the task like ``result()`` (raising ``concurrent.futures.TimeoutError`` after
        ``timeout`` seconds), but never raises the task's exception: a failed task's
        records are kept too. Empty when the task logged nothing, was cancelled, never
        ran (a dependency failed), is a join app, or took its result from the memo
        table or a checkpoint. When the task logged more than the limit, the first
        string says how many earlier records were dropped.
        """
        with contextlib.suppress(CancelledError):
            self.exception(timeout)
        return list(self._app_logs)

    def cancel(self) -> bool:
        """Cancel the task (and its dependents); True when it will not complete."""
        if cancel_and_notify(self):
            self._kernel.task_cancelled(self.tid)
            return True
        if self.done():
            return self.cancelled()
        return self._kernel.cancel_launched(self.tid)

    def _force_cancel(self) -> bool:
        """Move a launched future to CANCELLED (kernel use only)."""
        with self._condition:
            if self._state in (FINISHED, CANCELLED_AND_NOTIFIED):
                return False
            self._state = CANCELLED_AND_NOTIFIED
            for waiter in self._waiters:
                waiter.add_cancelled(self)
            self._condition.notify_all()
        self._invoke_callbacks()  # type: ignore[attr-defined]
        return True

    def __repr__(self) -> str:
        with self._condition:
            state = self._state.lower()
        return f"<AppFuture task {self.tid} ({self.task_name}) {state}>"
