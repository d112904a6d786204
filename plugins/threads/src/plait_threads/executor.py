"""A thread pool executor: tasks run as threads of the submitting process."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import attrs

from plait.concurrency import cancel_and_notify
from plait.interfaces import Capacity, Executor, LightFuture, TaskDescription
from plait.validators import int_at_least
from plait_threads.pool import ThreadPool


@attrs.define(eq=False)
class ThreadPoolExecutor(Executor):
    """Runs each task on one of ``max_threads`` threads of this process.

    Cheapest start-up and lowest latency; tasks share the GIL, so it suits I/O-bound
    work, bash apps and code that releases the GIL. ``cancel`` stops tasks still
    queued in the pool; a task already running on a thread runs to completion.
    """

    label: str = "threads"
    max_threads: int = attrs.field(default=2, validator=int_at_least(1))
    thread_name_prefix: str = ""

    capabilities = frozenset({"cancel"})
    maturity = "alpha"

    _pool: ThreadPool | None = attrs.field(default=None, init=False, repr=False)

    def start(self, run_dir: Path) -> None:
        self._pool = ThreadPool(self.max_threads, self.thread_name_prefix or f"plait-{self.label}")

    def submit(
        self,
        task: TaskDescription,
        func: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> Future[Any]:
        if self._pool is None:
            raise RuntimeError(f"executor {self.label!r} is not started")
        return self._pool.submit(func, args, kwargs)

    def capacity(self) -> Capacity:
        """``max_threads`` slots while started (none before ``start`` or after
        ``shutdown``); a thread pool does not scale (EXE-008)."""
        return Capacity(self.max_threads if self._pool is not None else 0)

    def cancel(self, future: Future[Any]) -> bool:
        assert isinstance(future, LightFuture)
        return cancel_and_notify(future)

    def shutdown(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None
