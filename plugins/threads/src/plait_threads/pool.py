"""A minimal thread pool whose futures are :class:`plait.interfaces.LightFuture`.

``concurrent.futures.ThreadPoolExecutor`` allocates a standard ``Future`` (a
``threading.Condition`` and its helpers) plus a work item per task; with tens of
thousands of tasks queued, the garbage collector spends more time on those than the
pool spends running tasks (see ``bench/kernel_overhead.py``). This pool keeps one
queue entry and one LightFuture per task, and the same semantics: a future cancelled
while queued never runs, exceptions reach the future, shutdown can drop the queue.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from plait.concurrency import cancel_and_notify
from plait.interfaces import LightFuture

_Item = tuple[LightFuture[Any], Callable[..., Any], Sequence[Any], Mapping[str, Any]]


class ThreadPool:
    """``size`` threads named ``<prefix>_<n>`` taking tasks from one queue."""

    def __init__(self, size: int, prefix: str) -> None:
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{prefix}_{n}", daemon=True)
            for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(
        self, func: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> LightFuture[Any]:
        """Queue ``func(*args, **kwargs)``; return its future at once."""
        future: LightFuture[Any] = LightFuture()
        self._queue.put((future, func, args, kwargs))
        return future

    def _work(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is None:
                return
            future, func, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
            del item, future, func, args, kwargs

    def shutdown(self, wait: bool = True, cancel_queued: bool = True) -> None:
        """Stop the threads once the queue (or, with ``cancel_queued``, the running
        tasks) is done; with ``wait`` block until they have exited."""
        if cancel_queued:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    cancel_and_notify(item[0])
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
