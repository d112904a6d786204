"""Shutdown: cleanup cancels what has not run, stops every thread the kernel started,
and ``with plait.load(...)`` waits for submitted tasks on a normal exit."""

from __future__ import annotations

import threading
import time
from concurrent.futures import wait
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import bash_app, join_app, python_app
from plait.conformance.base import wait_until
from plait.errors import KernelClosedError
from plait_threads import ThreadPoolExecutor


@python_app
def slow_inc(x: int, delay: float = 0.2) -> int:
    time.sleep(delay)  # a long-running task, not synchronisation
    return x + 1


@python_app
def blocker(gate: threading.Event, started: threading.Event) -> str:
    started.set()
    assert gate.wait(30)
    return "done"


@python_app
def inc(x: int) -> int:
    return x + 1


def plait_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("plait-")]


def test_no_plait_thread_left_after_cleanup(load: Any, tmp_path: Path) -> None:
    before = plait_threads()
    load(executors=[ThreadPoolExecutor(label="a"), ThreadPoolExecutor(label="b", max_threads=3)])

    @bash_app
    def echo() -> str:
        return "true"

    @join_app
    def joined() -> plait.AppFuture:
        return inc(1)

    assert inc(1).result(timeout=30) == 2
    assert echo().result(timeout=30) == 0
    assert joined().result(timeout=30) == 2
    assert "plait-dispatcher" in plait_threads()
    plait.clear()
    assert plait_threads() == before == []


def test_cleanup_cancels_pending_tasks(load: Any, counter: Any, wait_done: Any) -> None:
    kernel = load()
    gate, started = threading.Event(), threading.Event()
    running = blocker(gate, started)
    assert started.wait(30)

    @python_app
    def record(x: Any) -> Any:
        counter.hit()
        return x

    pending = [record(running) for _ in range(5)]
    cleaner = threading.Thread(target=kernel.cleanup, name="test-cleanup")
    cleaner.start()
    wait_done(*pending)
    assert all(f.cancelled() for f in pending)
    # cleanup does not wait for the running task it cancelled ...
    cleaner.join(30)
    assert not cleaner.is_alive()
    assert counter.total == 0
    assert running.done()
    gate.set()  # ... whose thread ends when the task returns
    assert wait_until(lambda: plait_threads() == [], 30)


def test_cleanup_cancels_tasks_queued_in_the_pool(load: Any, counter: Any) -> None:
    kernel = load(executors=[ThreadPoolExecutor(max_threads=1)])
    gate, started = threading.Event(), threading.Event()
    blocker(gate, started)
    assert started.wait(30)

    @python_app
    def record(x: int) -> int:
        counter.hit()
        return x

    queued = [record(i) for i in range(5)]
    kernel.tasks_outstanding()  # the queued tasks are launched
    cleaner = threading.Thread(target=kernel.cleanup, name="test-cleanup")
    cleaner.start()
    for f in queued:
        with pytest.raises(Exception):  # noqa: B017 - cancelled: CancelledError
            f.result(timeout=30)
        assert f.cancelled()
    gate.set()
    cleaner.join(30)
    assert counter.total == 0


def test_with_block_waits_for_tasks(run_dir: Path) -> None:
    config = plait.Config(run_dir=str(run_dir), executors=[ThreadPoolExecutor(max_threads=2)])
    with plait.load(config) as kernel:
        assert plait.dfk() is kernel
        chain = slow_inc(0)
        for _ in range(3):
            chain = slow_inc(chain)
        fan = [slow_inc(i, delay=0.1) for i in range(6)]
    assert chain.done() and not chain.cancelled()
    assert chain.result() == 4
    assert [f.result() for f in fan] == [1, 2, 3, 4, 5, 6]
    assert plait_threads() == []
    with pytest.raises(plait.errors.NoDataFlowKernelError):
        plait.dfk()


def test_with_block_exception_cancels_and_propagates(run_dir: Path, counter: Any) -> None:
    gate, started = threading.Event(), threading.Event()

    @python_app
    def record(x: Any) -> Any:
        counter.hit()
        return x

    config = plait.Config(run_dir=str(run_dir), executors=[ThreadPoolExecutor(max_threads=2)])
    pending: list[plait.AppFuture] = []

    def open_gate_when_cancelled(_f: Any) -> None:
        gate.set()

    with pytest.raises(KeyError, match="user code failed"), plait.load(config):
        running = blocker(gate, started)
        assert started.wait(30)
        pending.append(record(running))
        pending[0].add_done_callback(open_gate_when_cancelled)
        raise KeyError("user code failed")
    assert pending[0].cancelled()
    assert counter.total == 0
    assert wait_until(lambda: plait_threads() == [], 30)


def test_exit_mode_cleanup_does_not_wait(run_dir: Path) -> None:
    gate, started = threading.Event(), threading.Event()
    config = plait.Config(
        run_dir=str(run_dir), exit_mode="cleanup", executors=[ThreadPoolExecutor(max_threads=1)]
    )
    with plait.load(config):
        first = blocker(gate, started)
        assert started.wait(30)
        later = inc(first)
        later.add_done_callback(lambda _f: gate.set())
    assert later.cancelled()
    assert first.done()


def test_wait_for_current_tasks(dfk: plait.DataFlowKernel) -> None:
    futures = [slow_inc(i, delay=0.05) for i in range(8)]
    plait.wait_for_current_tasks()
    assert all(f.done() for f in futures)
    assert dfk.tasks_outstanding() == 0
    plait.wait_for_current_tasks()  # nothing outstanding: returns at once


def test_submit_after_cleanup_raises(load: Any) -> None:
    kernel = load()

    @python_app(data_flow_kernel=kernel)
    def bound(x: int) -> int:
        return x

    assert bound(1).result(timeout=30) == 1
    kernel.cleanup()
    with pytest.raises(KernelClosedError) as info:
        bound(2)
    assert info.value.code == "PLT-101"
    assert "PLT-101" in str(info.value) and info.value.hint
    with pytest.raises(plait.errors.NoDataFlowKernelError):
        inc(1)


def test_cleanup_is_idempotent(load: Any) -> None:
    kernel = load()
    kernel.cleanup()
    kernel.cleanup()
    plait.clear()
    kernel.wait_for_current_tasks()  # a closed kernel has nothing to wait for


def test_reload_after_cleanup(load: Any) -> None:
    load()
    assert inc(1).result(timeout=30) == 2
    plait.clear()
    load()
    assert inc(2).result(timeout=30) == 3


def test_concurrent_submit_during_cleanup_never_hangs(load: Any, counter: Any) -> None:
    """Threads submitting while the kernel shuts down get futures that all finish
    (with a result or cancelled) or a clear error; none is left pending."""
    kernel = load()

    @python_app(data_flow_kernel=kernel)
    def work(x: int) -> int:
        counter.hit()
        return x

    futures: list[plait.AppFuture] = []
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()
    errors: list[BaseException] = []

    def submitter() -> None:
        while not stop.is_set():
            try:
                f = work(1)
            except KernelClosedError:
                return
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                enough.set()
                return
            with lock:
                futures.append(f)
                if len(futures) >= 200:
                    enough.set()

    threads = [threading.Thread(target=submitter, name=f"test-submit-{i}") for i in range(4)]
    for t in threads:
        t.start()
    assert enough.wait(60)
    kernel.cleanup()  # while the submitters are still going
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors
    _done, not_done = wait(futures, timeout=30)
    assert not not_done, f"{len(not_done)} futures never finished"
    for f in futures:
        assert f.cancelled() or f.result() == 1
