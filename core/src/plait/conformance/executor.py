"""Conformance tests for executors (``interface-specs/executor.md``)."""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future, wait
from pathlib import Path
from typing import Any, ClassVar

import pytest

from plait.conformance import tasks
from plait.conformance.base import (
    ConformanceBase,
    assert_declarations,
    call_with_timeout,
    child_pids,
    leftovers,
    requirement,
    wait_until,
)
from plait.interfaces import (
    Capacity,
    Executor,
    ResourceSpecification,
    ScalingExecutor,
    TaskDescription,
)

EXECUTOR_CAPABILITIES = frozenset({"cancel", "resource_spec", "scaling"})
"""Capabilities ``interface-specs/executor.md`` defines."""

TIMEOUT = 60.0
LARGE = 20 * 1024 * 1024
MANY = 500


def _task(i: int = 0, resources: ResourceSpecification | None = None) -> TaskDescription:
    if resources is None:
        return TaskDescription(i, "kit")
    return TaskDescription(i, "kit", 0, resources)


class ExecutorConformance(ConformanceBase):
    """The executor kit. Set ``component_class``; the component must run the
    module-level functions of :mod:`plait.conformance.tasks`. For the ``cancel``
    tests, configure it (``component_kwargs``) with fewer than 32 workers."""

    kind: ClassVar[str] = "executor"
    spec_version: ClassVar[str] = "0.1"
    timeout: ClassVar[float] = TIMEOUT

    @pytest.fixture
    def executor(self, component_kwargs: dict[str, Any], tmp_path: Path) -> Iterator[Executor]:
        """A started executor, shut down after the test."""
        executor = self.make(component_kwargs)
        executor.start(tmp_path)
        yield executor
        executor.shutdown(wait=False)

    @pytest.fixture
    def gate(self, tmp_path: Path) -> Path:
        """A file path tasks can wait for (``tasks.wait_for_file``); create it to open."""
        return tmp_path / f"gate-{uuid.uuid4().hex}"

    # --- core tier ---------------------------------------------------------------

    @requirement("EXE-001")
    def test_lifecycle_leaves_nothing_behind(
        self, component_kwargs: dict[str, Any], tmp_path: Path
    ) -> None:
        threads, pids = set(threading.enumerate()), child_pids()
        executor = self.make(component_kwargs)
        assert not set(threading.enumerate()) - threads, "construction started threads"
        assert not child_pids() - pids, "construction started processes"
        executor.start(tmp_path)
        futures = [executor.submit(_task(i), tasks.add, (i, 1), {}) for i in range(10)]
        assert [f.result(self.timeout) for f in futures] == [i + 1 for i in range(10)]
        executor.shutdown(wait=True)
        assert leftovers(threads, pids) == [], "shutdown left threads or processes alive"

    @requirement("EXE-002")
    def test_submit_returns_before_the_task_runs(self, executor: Executor, gate: Path) -> None:
        finished, future = call_with_timeout(
            lambda: executor.submit(_task(), tasks.wait_for_file, (str(gate), "opened"), {}),
            timeout=self.timeout / 2,
        )
        try:
            assert finished, "submit() blocked while the task was waiting"
            assert isinstance(future, Future), f"submit() returned {future!r}"
            assert not future.done()
        finally:
            gate.touch()
        assert future.result(self.timeout) == "opened"

    @requirement("EXE-003")
    def test_result_is_the_return_value(self, executor: Executor) -> None:
        calls: list[Future[Any]] = []
        future = executor.submit(_task(), tasks.add, (2, 3), {})
        future.add_done_callback(calls.append)
        assert future.result(self.timeout) == 5
        keyword = executor.submit(_task(1), tasks.add, (2,), {"b": 40})
        assert keyword.result(self.timeout) == 42
        assert calls == [future], "done callbacks must run exactly once"

    @requirement("EXE-003")
    def test_exception_keeps_type_message_and_traceback(self, executor: Executor) -> None:
        future = executor.submit(_task(), tasks.raise_value_error, ("kit-boom",), {})
        error = future.exception(self.timeout)
        assert isinstance(error, ValueError), f"got {type(error).__name__}: {error}"
        assert "kit-boom" in str(error)
        rendered = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        rendered += str(getattr(error, "__cause__", "") or "")
        assert "raise_value_error" in rendered, "the remote traceback was lost"

    @requirement("EXE-003")
    def test_large_arguments_and_results(self, executor: Executor) -> None:
        payload = tasks.make_bytes(LARGE)
        assert executor.submit(_task(), tasks.size_of, (payload,), {}).result(self.timeout) == LARGE
        big = executor.submit(_task(1), tasks.make_bytes, (LARGE,), {}).result(self.timeout)
        assert big == payload

    @requirement("EXE-003")
    def test_many_concurrent_tasks(self, executor: Executor) -> None:
        futures = [executor.submit(_task(i), tasks.add, (i, i), {}) for i in range(MANY)]
        assert [f.result(self.timeout) for f in futures] == [2 * i for i in range(MANY)]

    @requirement("EXE-004")
    def test_shutdown_with_tasks_in_flight(
        self, component_kwargs: dict[str, Any], tmp_path: Path, gate: Path
    ) -> None:
        threads, pids = set(threading.enumerate()), child_pids()
        executor = self.make(component_kwargs)
        executor.start(tmp_path)
        futures = [
            executor.submit(_task(i), tasks.wait_for_file, (str(gate), i), {}) for i in range(8)
        ]
        finished, _ = call_with_timeout(lambda: executor.shutdown(wait=False), self.timeout / 2)
        gate.touch()
        assert finished, "shutdown(wait=False) did not return promptly"
        _, unfinished = wait(futures, self.timeout)
        assert not unfinished, f"{len(unfinished)} tasks never finished after shutdown"
        for i, future in enumerate(futures):
            if not future.cancelled() and future.exception() is None:
                assert future.result() == i
        assert leftovers(threads, pids) == [], "shutdown left threads or processes alive"

    @requirement("EXE-005")
    def test_has_a_label(self, component_kwargs: dict[str, Any]) -> None:
        label = self.make(component_kwargs).label
        assert isinstance(label, str) and label, f"label must be a non-empty str, got {label!r}"

    @requirement("EXE-006")
    def test_declares_capabilities_and_maturity(self) -> None:
        cls = self.component_class
        assert_declarations(cls, Executor, EXECUTOR_CAPABILITIES, "executor")

    @requirement("EXE-007")
    def test_unusable_executor_reports_instead_of_hanging(
        self, component_kwargs: dict[str, Any], tmp_path: Path
    ) -> None:
        def attempt(executor: Executor) -> None:
            finished, outcome = call_with_timeout(
                lambda: executor.submit(_task(), tasks.add, (1, 1), {}), self.timeout / 2
            )
            assert finished, "submit() hung"
            if isinstance(outcome, Future):
                _, unfinished = wait([outcome], self.timeout)
                assert not unfinished, "the future of a refused task never finished"
                assert outcome.cancelled() or outcome.exception() is not None

        attempt(self.make(component_kwargs))  # never started
        executor = self.make(component_kwargs)
        executor.start(tmp_path)
        executor.shutdown(wait=True)
        attempt(executor)  # shut down

    @requirement("EXE-008")
    def test_capacity_answers_at_once(
        self, component_kwargs: dict[str, Any], tmp_path: Path
    ) -> None:
        executor = self.make(component_kwargs)
        executor.start(tmp_path)
        try:
            assert executor.submit(_task(), tasks.add, (1, 1), {}).result(self.timeout) == 2
            finished, capacity = call_with_timeout(executor.capacity, self.timeout / 2)
            assert finished, "capacity() blocked"
            if isinstance(capacity, BaseException):
                raise AssertionError(f"capacity() raised {capacity!r}") from capacity
            if capacity is None:
                pytest.skip("capacity() returns None: the executor does not report it (optional)")
            assert isinstance(capacity, Capacity), f"capacity() returned {capacity!r}"
            for name in ("slots", "possible"):
                value = getattr(capacity, name)
                assert type(value) is int and value >= 0, f"Capacity.{name} is {value!r}"
            assert capacity.slots + capacity.possible >= 1, (
                f"{capacity!r} after running a task: no slot now and none possible"
            )
            started = time.monotonic()
            for _ in range(100):
                executor.capacity()
            took = time.monotonic() - started
            assert took < 1.0, f"100 capacity() calls took {took:.2f}s: it must answer at once"
        finally:
            executor.shutdown(wait=True)
        finished, after = call_with_timeout(executor.capacity, self.timeout / 2)
        assert finished, "capacity() blocked after shutdown"
        assert after is None or after == Capacity(0, 0), f"after shutdown: {after!r}"

    # --- extended tier -------------------------------------------------------------

    @requirement("EXE-101", capability="cancel")
    def test_cancel_stops_tasks_that_have_not_run(self, executor: Executor, gate: Path) -> None:
        futures = [
            executor.submit(_task(i), tasks.wait_for_file, (str(gate), i), {}) for i in range(64)
        ]
        try:
            cancelled = {i for i in range(32, 64) if executor.cancel(futures[i])}
            assert cancelled, "cancel() stopped none of 32 queued tasks"
            _, unfinished = wait([futures[i] for i in cancelled], self.timeout)
            assert not unfinished, (
                "concurrent.futures.wait() does not see cancelled futures as done"
            )
        finally:
            gate.touch()  # a failure must not leave the running tasks blocked
        for i, future in enumerate(futures):
            if i in cancelled:
                with pytest.raises(CancelledError):
                    future.result(self.timeout)
            else:
                assert future.result(self.timeout) == i

    @requirement("EXE-102", capability="resource_spec")
    def test_runs_tasks_with_common_resource_keys(self, executor: Executor) -> None:
        spec = ResourceSpecification(cores=1, memory=100)
        assert executor.submit(_task(0, spec), tasks.add, (1, 2), {}).result(self.timeout) == 3

    @requirement("EXE-103", capability="scaling")
    def test_scales_blocks_out_and_in(self, executor: Executor, gate: Path) -> None:
        assert isinstance(executor, ScalingExecutor), "'scaling' needs a ScalingExecutor"

        def live() -> set[str]:
            assert isinstance(executor, ScalingExecutor)
            return {b.block_id for b in executor.scaling_load().blocks}

        before = live()
        futures = [
            executor.submit(_task(i), tasks.wait_for_file, (str(gate), i), {}) for i in range(3)
        ]
        try:
            assert executor.scaling_load().outstanding == 3
            new = executor.scale_out(1)
            assert len(new) == 1 and not set(new) & before, f"scale_out(1) returned {new}"
            assert set(new) <= live(), "a new block is missing from the load"
        finally:
            gate.touch()
        assert [f.result(self.timeout) for f in futures] == [0, 1, 2]
        assert wait_until(lambda: executor.scaling_load().outstanding == 0, self.timeout)
        assert wait_until(lambda: executor.scale_in(new) == new or not set(new) & live(), 10)

        def gone() -> bool:
            executor.poll_blocks()
            return not set(new) & live()

        assert wait_until(gone, self.timeout), "a scaled-in block stayed in the load"
        assert executor.submit(_task(9), tasks.add, (4, 5), {}).result(self.timeout) == 9
