"""The future an app call returns."""

from __future__ import annotations

from collections.abc import Sequence
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
    depend on a cancelled task are cancelled too.
    """

    def __init__(self, tid: int, task_name: str, kernel: DataFlowKernel) -> None:
        super().__init__()
        self.tid = tid
        self.task_name = task_name
        self.outputs: Sequence[DataFuture] = ()
        self.stdout: str | None = None
        self.stderr: str | None = None
        self._kernel = kernel

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
