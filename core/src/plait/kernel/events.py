"""Task states and the events the kernel emits on every transition."""

from __future__ import annotations

import enum

import attrs


class TaskState(enum.Enum):
    """Where a task is in its life."""

    PENDING = "pending"  # submitted, waiting for dependencies
    STAGING = "staging"  # separate-mode files moving before (or after) the task runs
    LAUNCHED = "launched"  # handed to an executor
    JOINING = "joining"  # a join app's body returned; waiting for its inner futures
    EXEC_DONE = "exec_done"  # finished with a result
    FAILED = "failed"  # finished with an error, retries exhausted
    DEP_FAIL = "dep_fail"  # never ran: a dependency failed
    MEMO_DONE = "memo_done"  # result taken from the memo table or a checkpoint
    CANCELLED = "cancelled"  # cancelled by the user or because a dependency was

    @property
    def final(self) -> bool:
        """True for states a task never leaves."""
        return self in _FINAL


_FINAL = frozenset(
    {
        TaskState.EXEC_DONE,
        TaskState.FAILED,
        TaskState.DEP_FAIL,
        TaskState.MEMO_DONE,
        TaskState.CANCELLED,
    }
)


@attrs.frozen
class TaskEvent:
    """One state change of one task, as passed to ``plait_task_event``.

    ``executor`` is the label of the executor the task was handed to (None before
    that, and for join apps' bodies). ``error`` is the final error of a ``failed`` or
    ``dep_fail`` task. ``reason`` is set on the ``launched`` event of a task whose app
    may run on several executors: why this one was chosen (the policy's explanation,
    e.g. ``least-loaded: cluster 0.2s (5 outstanding, 32 slots); others: ...``, or that a
    ``plait_choose_executor`` hook chose it); None when there was no choice.
    """

    task_id: int
    name: str
    state: TaskState
    attempt: int
    executor: str | None
    timestamp: float
    error: str | None = None
    reason: str | None = None
