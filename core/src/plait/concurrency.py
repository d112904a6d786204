"""Lighter futures for the kernel and for executors.

``concurrent.futures.Future`` gives every future a ``threading.Condition``, which
allocates a re-entrant lock, a deque and five bound methods, all tracked by the
garbage collector. A workflow holds one future per task, so with 100,000 tasks in
flight those objects dominate collection time. :class:`FutureCondition` offers the
five operations ``Future`` uses (``with``, ``acquire``, ``release``, ``wait``,
``notify_all``) as one slotted object with a plain lock and a waiter list created
only when a thread actually waits; :class:`LightFuture` is a
``concurrent.futures.Future`` built on it. Executors may return LightFutures too.
"""

from __future__ import annotations

import _thread
import contextlib
from concurrent.futures import Future
from concurrent.futures._base import (
    CANCELLED,
    CANCELLED_AND_NOTIFIED,
    PENDING,
    RUNNING,
)
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class FutureCondition:
    """A condition variable over a non-reentrant lock, for one future."""

    __slots__ = ("_lock", "_waiters")

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._waiters: list[_thread.LockType] | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock."""
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        """Release the lock."""
        self._lock.release()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock until notified or ``timeout`` passes; hold it again on return."""
        waiter = _thread.allocate_lock()
        waiter.acquire()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        self._lock.release()
        notified = False
        try:
            if timeout is None:
                notified = waiter.acquire()
            elif timeout > 0:
                notified = waiter.acquire(True, timeout)
            else:
                notified = waiter.acquire(False)
            return notified
        finally:
            self._lock.acquire()
            if not notified and self._waiters is not None:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    def notify_all(self) -> None:
        """Wake every waiting thread (the caller holds the lock)."""
        waiters, self._waiters = self._waiters, None
        if waiters:
            for waiter in waiters:
                waiter.release()


class LightFuture(Future[T]):
    """A ``concurrent.futures.Future`` with a :class:`FutureCondition`.

    Behaves exactly like its base class (``tests/test_light_future.py`` runs the same
    checks on both), but costs one garbage-collected object instead of eight.
    """

    def __init__(self) -> None:
        # Future.__init__'s fields, with the lighter condition; a test checks that
        # these are still all the fields the base class sets.
        self._condition: Any = FutureCondition()
        self._state = PENDING
        self._result = None
        self._exception = None
        self._waiters: list[Any] = []
        self._done_callbacks: list[Any] = []

    def set_running_or_notify_cancel(self) -> bool:
        """As the base method, but a future already cancelled *and notified* (see
        ``cancel_and_notify``) answers False instead of raising."""
        with self._condition:
            if self._state == PENDING:
                self._state = RUNNING
                return True
            if self._state == CANCELLED:
                self._state = CANCELLED_AND_NOTIFIED
                for waiter in self._waiters:
                    waiter.add_cancelled(self)
            if self._state == CANCELLED_AND_NOTIFIED:
                return False
            state = self._state
        raise RuntimeError(f"{type(self).__name__} cannot start: it is {state.lower()}")


def cancel_and_notify(future: Future[Any]) -> bool:
    """Cancel ``future`` if it has not started; True if it is cancelled.

    Unlike ``Future.cancel`` alone, this also wakes ``concurrent.futures.wait`` and
    ``as_completed``: the base class leaves that to an executor calling
    ``set_running_or_notify_cancel``, which never happens for a task the kernel or an
    executor drops.
    """
    if not Future.cancel(future):
        return False
    with future._condition:  # type: ignore[attr-defined]
        if future._state == CANCELLED:  # type: ignore[attr-defined]
            future._state = CANCELLED_AND_NOTIFIED  # type: ignore[attr-defined]
            for waiter in future._waiters:  # type: ignore[attr-defined]
                waiter.add_cancelled(future)
    return True
