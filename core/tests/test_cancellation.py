"""``future.cancel()``: a task that has not started is cancelled with its dependents;
a launched task is cancelled where the executor declares ``cancel`` (threads: while
still queued); a running task cannot be cancelled and completes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import CancelledError
from typing import Any

import pytest

import plait
from plait import python_app
from plait_threads import ThreadPoolExecutor


@python_app
def blocker(gate: threading.Event, started: threading.Event | None = None) -> str:
    if started is not None:
        started.set()
    assert gate.wait(30), "gate never opened"
    return "unblocked"


def record_app(counter: Any) -> Any:
    @python_app
    def record(x: Any, key: str = "ran") -> Any:
        counter.hit(key)
        return x

    return record


def barrier() -> None:
    """Return once the dispatcher handled every event posted so far by this thread."""
    plait.dfk().tasks_outstanding()


def test_cancel_task_waiting_for_dependency(
    dfk: plait.DataFlowKernel, counter: Any, wait_done: Any
) -> None:
    record = record_app(counter)
    gate = threading.Event()
    a = blocker(gate)
    b = record(a, key="b")
    c = record(b, key="c")
    d = record([c], key="d")
    independent = record(a, key="independent")
    barrier()
    assert b.cancel() is True
    assert b.cancelled() and b.done()
    wait_done(c, d)
    assert c.cancelled() and d.cancelled()
    with pytest.raises(CancelledError):
        d.result()
    gate.set()
    assert a.result(timeout=30) == "unblocked"
    assert independent.result(timeout=30) == "unblocked"
    plait.wait_for_current_tasks()
    assert counter["b"] == counter["c"] == counter["d"] == 0
    assert counter["independent"] == 1


def test_cancel_before_dispatcher_sees_the_task(dfk: plait.DataFlowKernel, counter: Any) -> None:
    record = record_app(counter)
    futures = [record(i) for i in range(200)]
    cancelled = [f for f in futures if f.cancel()]
    plait.wait_for_current_tasks()
    for f in futures:
        assert f.done()
        if f in cancelled:
            assert f.cancelled()
        else:
            assert not f.cancelled()
    assert counter["ran"] == len(futures) - len(cancelled)


def test_cancel_done_task_returns_false(dfk: plait.DataFlowKernel, counter: Any) -> None:
    record = record_app(counter)
    f = record(1)
    assert f.result(timeout=30) == 1
    assert f.cancel() is False
    assert not f.cancelled() and f.result() == 1


def test_cancelled_futures_wake_wait_and_as_completed(
    dfk: plait.DataFlowKernel, counter: Any
) -> None:
    """Cancelled AppFutures (and their DataFutures) count as done for the standard
    ``concurrent.futures`` helpers."""
    from concurrent.futures import as_completed, wait

    record = record_app(counter)
    gate = threading.Event()
    root = blocker(gate)
    first = record(root)
    dependent = record(first)
    barrier()
    waiter_result: list[Any] = []
    waiter = threading.Thread(
        target=lambda: waiter_result.append(wait([first, dependent], timeout=30)),
        name="test-waiter",
    )
    waiter.start()
    assert first.cancel()
    waiter.join(30)
    done, not_done = waiter_result[0]
    assert done == {first, dependent} and not not_done
    assert list(as_completed([first, dependent], timeout=30))
    gate.set()
    assert root.result(timeout=30) == "unblocked"


def test_cancel_queued_task_in_busy_pool(load: Any, counter: Any, wait_done: Any) -> None:
    """A task handed to the pool but waiting behind a blocked one can be cancelled."""
    executor = ThreadPoolExecutor(max_threads=1)
    assert executor.has_capability("cancel")
    load(executors=[executor])
    record = record_app(counter)
    gate, started = threading.Event(), threading.Event()
    running = blocker(gate, started)
    assert started.wait(30)
    queued = record("queued", key="queued")
    dependent = record(queued, key="dependent")
    barrier()
    assert queued.running(), "the task is launched (queued in the pool)"
    assert queued.cancel() is True
    assert queued.cancelled()
    wait_done(dependent)
    assert dependent.cancelled()
    gate.set()
    assert running.result(timeout=30) == "unblocked"
    after = record("after", key="after")
    assert after.result(timeout=30) == "after"
    assert counter["queued"] == 0 and counter["dependent"] == 0


def test_running_task_cannot_be_cancelled(dfk: plait.DataFlowKernel) -> None:
    gate, started = threading.Event(), threading.Event()
    running = blocker(gate, started)
    assert started.wait(30)
    assert running.cancel() is False
    assert not running.cancelled()
    gate.set()
    assert running.result(timeout=30) == "unblocked"


def test_cancelled_join_app_cancels_its_inner_tasks(
    dfk: plait.DataFlowKernel, counter: Any, wait_done: Any, task_events: Any
) -> None:
    gate = threading.Event()
    record = record_app(counter)
    inner: list[plait.AppFuture] = []

    @plait.join_app
    def fan() -> list[plait.AppFuture]:
        blocked = blocker(gate)
        inner.extend([blocked, record(blocked, key="inner")])
        return inner

    joined = fan()
    task_events.wait(joined.tid, "joining")
    assert joined.cancel() is True
    assert joined.cancelled()
    wait_done(inner[1])
    assert inner[1].cancelled(), "the join's pending inner task is cancelled"
    gate.set()
    wait_done(*inner)
    plait.wait_for_current_tasks()
    assert counter["inner"] == 0


def test_cancel_emits_cancelled_events(
    dfk: plait.DataFlowKernel, counter: Any, wait_done: Any, task_events: Any
) -> None:
    record = record_app(counter)
    gate = threading.Event()
    a = blocker(gate)
    b = record(a)
    c = record(b)
    barrier()
    assert b.cancel()
    wait_done(c)
    gate.set()
    plait.wait_for_current_tasks()
    assert task_events.states(b.tid)[-1] == "cancelled"
    assert task_events.states(c.tid)[-1] == "cancelled"
    assert task_events.states(a.tid)[-1] == "exec_done"


def test_cancel_with_data_future_dependent(
    dfk: plait.DataFlowKernel, counter: Any, tmp_path: Any, wait_done: Any
) -> None:
    record = record_app(counter)
    gate = threading.Event()

    @python_app
    def write(dep: Any, outputs: Sequence[plait.File] = ()) -> None:
        counter.hit("write")

    w = write(blocker(gate), outputs=[plait.File(str(tmp_path / "f"))])
    reader = record(w.outputs[0], key="reader")
    assert w.cancel()
    wait_done(reader, w.outputs[0])
    assert w.outputs[0].cancelled()
    assert reader.cancelled()
    gate.set()
    plait.wait_for_current_tasks()
    assert counter["write"] == 0 and counter["reader"] == 0


def test_task_submitted_after_its_dependency_was_cancelled(
    dfk: plait.DataFlowKernel, counter: Any, wait_done: Any
) -> None:
    record = record_app(counter)
    gate = threading.Event()
    a = blocker(gate)
    b = record(a)
    assert b.cancel()
    late = record({"dep": [b]}, key="late")
    wait_done(late)
    assert late.cancelled()
    gate.set()
    plait.wait_for_current_tasks()
    assert counter["late"] == 0
