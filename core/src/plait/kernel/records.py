"""The kernel's record of one task; owned by the dispatcher thread once posted."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import attrs

from plait.interfaces import EMPTY_RESOURCES, ResourceSpecification
from plait.kernel.events import TaskState

if TYPE_CHECKING:
    from plait.apps.decorators import App
    from plait.apps.futures import AppFuture
    from plait.data.files import File
    from plait.data.staging import Plan
    from plait.interfaces import Executor


@attrs.define(slots=True, eq=False)
class TaskRecord:
    """Everything the kernel knows about a task."""

    id: int
    app: App
    future: AppFuture
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    candidates: list[Executor]
    depends: list[Future[Any]]
    resources: ResourceSpecification = EMPTY_RESOURCES
    walltime: float | None = None
    inputs: Sequence[Any] = ()
    outputs: Sequence[File] = ()
    stdout: Any = None
    stderr: Any = None
    state: TaskState = TaskState.PENDING
    deps_waiting: int = 0
    attempt: int = 0
    fail_cost: float = 0.0
    executor: Executor | None = None
    exec_future: Future[Any] | None = None
    memo_key: bytes | None = None
    inner: Sequence[Future[Any]] = ()
    inner_waiting: int = 0
    join_single: bool = False
    staging: Plan | None = None

    @property
    def label(self) -> str:
        """``task 12 (double)``, used in messages."""
        return f"task {self.id} ({self.app.name})"
