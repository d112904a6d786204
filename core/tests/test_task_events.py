"""Every task state change is a ``plait_task_event``; failures reach
``plait_report_error``. A plugin whose hook raises must not stop the kernel."""

from __future__ import annotations

import threading
from typing import Any

import plait
from plait import python_app
from plait.errors import DependencyError


@python_app
def inc(x: int) -> int:
    return x + 1


@python_app
def boom() -> None:
    raise ValueError("boom")


def test_states_of_a_successful_task(dfk: plait.DataFlowKernel, task_events: Any) -> None:
    f = inc(1)
    assert f.result(timeout=30) == 2
    plait.wait_for_current_tasks()
    assert task_events.states(f.tid) == ["pending", "launched", "exec_done"]


def test_states_of_memo_hit_dep_fail_and_retries(load: Any, task_events: Any) -> None:
    load(retries=1)

    @python_app(cache=True)
    def cached(x: int) -> int:
        return x

    cached(1).result(timeout=30)
    hit = cached(1)
    hit.result(timeout=30)
    bad = boom()
    dependent = inc(bad)
    assert isinstance(dependent.exception(timeout=30), DependencyError)
    plait.wait_for_current_tasks()
    assert task_events.states(hit.tid) == ["pending", "memo_done"]
    assert task_events.states(bad.tid) == ["pending", "launched", "launched", "failed"]
    assert task_events.states(dependent.tid) == ["pending", "dep_fail"]
    failed = next(e for e in task_events.events if e.task_id == bad.tid and e.state.final)
    assert failed.attempt == 1 and failed.executor == "threads"
    assert "ValueError: boom" in failed.error


def test_report_error_hook_gets_final_failures(load: Any, register_plugin: Any) -> None:
    reported: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    class Reporter:
        @plait.hookimpl
        def plait_report_error(self, error: BaseException, context: Any) -> None:
            with lock:
                reported.append((type(error).__name__, context.task_id, context.attempts))

    register_plugin(Reporter())
    load(retries=2)
    bad = boom()
    bad.exception(timeout=30)
    inc(1).result(timeout=30)
    plait.wait_for_current_tasks()
    assert reported == [("ValueError", bad.tid, 3)]


def test_raising_event_hook_does_not_stop_the_kernel(load: Any, register_plugin: Any) -> None:
    class Broken:
        @plait.hookimpl
        def plait_task_event(self, event: Any) -> None:
            raise RuntimeError("monitoring plugin bug")

        @plait.hookimpl
        def plait_report_error(self, error: BaseException, context: Any) -> None:
            raise RuntimeError("reporting plugin bug")

    register_plugin(Broken())
    load()
    first = inc(1)
    assert inc(first).result(timeout=30) == 3
    assert isinstance(boom().exception(timeout=30), ValueError)
    assert isinstance(inc(boom()).exception(timeout=30), DependencyError)
    assert inc(10).result(timeout=30) == 11
