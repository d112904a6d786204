"""LightFuture behaves as concurrent.futures.Future does, for every operation the
kernel, executors and users rely on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import (
    FIRST_COMPLETED,
    CancelledError,
    Future,
    TimeoutError,
    as_completed,
    wait,
)
from typing import Any

import pytest


def _light() -> Future[Any]:
    from plait.interfaces import LightFuture

    return LightFuture()


KINDS: list[Callable[[], Future[Any]]] = [Future, _light]


def test_sets_the_same_fields_as_the_base_class() -> None:
    """If CPython's Future grows a field, LightFuture.__init__ must set it too."""
    assert set(vars(_light())) == set(vars(Future()))


@pytest.mark.parametrize("make", KINDS, ids=["Future", "LightFuture"])
def test_result_wakes_every_waiting_thread(make: Callable[[], Future[Any]]) -> None:
    future = make()
    got: list[Any] = []
    waiting = threading.Barrier(4)

    def waiter() -> None:
        waiting.wait()
        got.append(future.result(timeout=10))

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for thread in threads:
        thread.start()
    waiting.wait()
    future.set_result(42)
    for thread in threads:
        thread.join(10)
    assert got == [42, 42, 42]


@pytest.mark.parametrize("make", KINDS, ids=["Future", "LightFuture"])
def test_timeouts_and_exceptions(make: Callable[[], Future[Any]]) -> None:
    future = make()
    with pytest.raises(TimeoutError):
        future.result(timeout=0.05)
    with pytest.raises(TimeoutError):
        future.exception(timeout=0)
    future.set_exception(ValueError("bad"))
    assert isinstance(future.exception(), ValueError)
    with pytest.raises(ValueError, match="bad"):
        future.result()


@pytest.mark.parametrize("make", KINDS, ids=["Future", "LightFuture"])
def test_cancel_callbacks_and_running(make: Callable[[], Future[Any]]) -> None:
    seen: list[bool] = []
    pending = make()
    pending.add_done_callback(lambda f: seen.append(f.cancelled()))
    assert pending.cancel()
    assert not pending.set_running_or_notify_cancel()
    with pytest.raises(CancelledError):
        pending.result()
    running = make()
    assert running.set_running_or_notify_cancel()
    assert running.running() and not running.cancel()
    running.set_result(1)
    running.add_done_callback(lambda f: seen.append(f.cancelled()))
    assert seen == [True, False]


@pytest.mark.parametrize("make", KINDS, ids=["Future", "LightFuture"])
def test_wait_and_as_completed(make: Callable[[], Future[Any]]) -> None:
    futures = [make() for _ in range(5)]
    done, not_done = wait(futures, timeout=0.01)
    assert not done and len(not_done) == 5
    threading.Timer(0.01, futures[3].set_result, (3,)).start()
    done, not_done = wait(futures, timeout=10, return_when=FIRST_COMPLETED)
    assert done == {futures[3]}
    for i, future in enumerate(futures):
        if i != 3:
            future.set_result(i)
    assert sorted(f.result() for f in as_completed(futures, timeout=10)) == [0, 1, 2, 3, 4]
