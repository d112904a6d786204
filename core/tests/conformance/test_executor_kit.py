"""The executor kit, tested: a compliant dummy executor passes every requirement; for each
requirement a dummy that breaks exactly that requirement fails it and passes the others.

Each case runs the kit in-process with pytester and reads the verdicts from the kit's
JSON report. The broken dummies run with a lowered ``ExecutorConformance.timeout`` so a
dummy that hangs fails in seconds, not minutes.
"""

from __future__ import annotations

import pytest

from . import kitrun
from .kitrun import Broken

KIT_REQUIREMENTS = (
    "EXE-001",
    "EXE-002",
    "EXE-003",
    "EXE-004",
    "EXE-005",
    "EXE-006",
    "EXE-007",
    "EXE-008",
    "EXE-101",
    "EXE-102",
    "EXE-103",
)

BROKEN_TIMEOUT = 3.0
"""``timeout`` of the kit runs on broken dummies (the compliant run keeps the default)."""

DUMMIES = '''
"""Dummy executors for the kit's own tests: one compliant, the rest each broken in one way."""

import queue
import threading
import time
from concurrent.futures import Future, wait

from plait.errors import ResourceSpecificationError
from plait.interfaces import Capacity, ScalingExecutor
from plait.scaling import BlockLoad, ExecutorLoad

COMMON_KEYS = ("cores", "memory", "gpus", "num_nodes", "ranks_per_node", "num_ranks")


def cancel_queued(future):
    """Cancel a future no worker has taken yet, waking concurrent.futures.wait."""
    if not future.cancel():
        return False
    try:
        future.set_running_or_notify_cancel()
    except RuntimeError:  # a worker already notified
        pass
    return True


class Compliant(ScalingExecutor):
    """A small thread pool that follows interface-specs/executor.md. Its "blocks" are
    bookkeeping only: every task runs on the one pool, whatever blocks exist."""

    capabilities = frozenset({"cancel", "resource_spec", "scaling"})
    maturity = "beta"
    provider = None

    def __init__(self, label="dummy", workers=4):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.label = label
        self.workers = workers
        self._queue = None
        self._threads = []
        self._blocks = ["0"]
        self._next_block = 1
        self._pending = set()
        self._lock = threading.Lock()

    def start(self, run_dir):
        q = self._queue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, args=(q,), name=f"dummy-{n}", daemon=True)
            for n in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    def check_resources(self, resources):
        unknown = set(resources.extra) - {"dummy"}
        if unknown:
            raise ResourceSpecificationError(f"cannot honour {sorted(unknown)}")

    def submit(self, task, func, args, kwargs):
        q = self._queue
        if q is None:
            raise RuntimeError(f"executor {self.label!r} is not running")
        self.check_resources(task.resources)
        future = Future()
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        q.put((future, func, args, kwargs))
        return future

    def _forget(self, future):
        with self._lock:
            self._pending.discard(future)

    def capacity(self):
        return Capacity(self.workers) if self._queue is not None else Capacity(0)

    def poll_blocks(self):
        pass

    def scaling_load(self):
        with self._lock:
            outstanding = len(self._pending)
        blocks = [BlockLoad(b, 0, 0.0) for b in self._blocks]
        return ExecutorLoad(outstanding=outstanding, slots_per_block=self.workers, blocks=blocks)

    def scale_out(self, blocks):
        new = [str(self._next_block + i) for i in range(blocks)]
        self._next_block += blocks
        self._blocks += new
        return new

    def scale_in(self, block_ids):
        stopped = [b for b in block_ids if b in self._blocks]
        self._blocks = [b for b in self._blocks if b not in stopped]
        return stopped

    def _work(self, q):
        while True:
            item = q.get()
            if item is None:
                return
            future, func, args, kwargs = item
            try:
                if not future.set_running_or_notify_cancel():
                    continue
            except RuntimeError:  # cancelled and already notified by cancel()
                continue
            self.run(future, func, args, kwargs)
            del item, future, func, args, kwargs

    def run(self, future, func, args, kwargs):
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)

    def cancel(self, future):
        return cancel_queued(future)

    def shutdown(self, wait=True):
        q, threads = self._queue, self._threads
        if q is None:
            return
        self._queue = None
        if not wait:
            while True:
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    cancel_queued(item[0])
        for _ in threads:
            q.put(None)
        if wait:
            for thread in threads:
                thread.join()


# --- EXE-001: construction does no work ------------------------------------------------


class ThreadInInit(Compliant):
    """Starts a (short-lived) warm-up thread in the constructor."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        threading.Thread(target=time.sleep, args=(0.5,), name="dummy-warm-up").start()


# --- EXE-002: submit does not wait for the task ----------------------------------------


class BlockingSubmit(Compliant):
    """Waits in submit() for its first task to finish ("to check the pool is up")."""

    block = 2.0

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = True

    def submit(self, task, func, args, kwargs):
        future = super().submit(task, func, args, kwargs)
        if self.first:
            self.first = False
            wait([future], timeout=self.block)
        return future


# --- EXE-003: the future carries the result or the exception, faithfully -------------


class WrongExceptionType(Compliant):
    """Wraps every task exception in a RuntimeError."""

    def run(self, future, func, args, kwargs):
        try:
            result = func(*args, **kwargs)
        except Exception as exc:
            future.set_exception(RuntimeError(f"task failed: {exc}"))
        else:
            future.set_result(result)


class LosesTraceback(Compliant):
    """Re-creates the exception from its type and arguments, dropping the traceback."""

    def run(self, future, func, args, kwargs):
        try:
            result = func(*args, **kwargs)
        except Exception as exc:
            future.set_exception(type(exc)(*exc.args))
        else:
            future.set_result(result)


class TruncatesLargeResults(Compliant):
    """Cuts results to 16 MiB, like a message size limit nobody checks."""

    def run(self, future, func, args, kwargs):
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            if isinstance(result, bytes):
                result = result[: 16 * 1024 * 1024]
            future.set_result(result)


class DropsTasksUnderLoad(Compliant):
    """Silently drops tasks beyond 256 submitted (their futures never complete)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.submitted = 0

    def submit(self, task, func, args, kwargs):
        self.submitted += 1
        if self.submitted > 256:
            if self._queue is None:
                raise RuntimeError("not running")
            return Future()
        return super().submit(task, func, args, kwargs)


# --- EXE-004: shutdown(wait=False) returns promptly ------------------------------------


class SlowShutdown(Compliant):
    """Ignores wait=False: always waits for the tasks in flight."""

    def shutdown(self, wait=True):
        super().shutdown(wait=True)


# --- EXE-005: a non-empty str label ----------------------------------------------------


class EmptyLabel(Compliant):
    """Has an empty label."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.label = ""


# --- EXE-006: declared capabilities and maturity ---------------------------------------


class UnknownCapability(Compliant):
    """Declares a capability the executor spec does not define."""

    capabilities = frozenset({"cancel", "resource_spec", "scaling", "teleport"})


class UnknownMaturity(Compliant):
    """Declares a maturity level that does not exist."""

    maturity = "experimental"


# --- EXE-007: unusable executors report instead of hanging -----------------------------


class HangsWhenNotStarted(Compliant):
    """Accepts tasks before start() and after shutdown() and never runs them."""

    def submit(self, task, func, args, kwargs):
        if self._queue is None:
            return Future()
        return super().submit(task, func, args, kwargs)


# --- EXE-008: capacity() answers at once ---------------------------------------------


class CapacityAsksTheBackend(Compliant):
    """Asks a (slow) remote service for its capacity on every call."""

    def capacity(self):
        time.sleep(0.05)
        return super().capacity()


# --- EXE-101 (cancel) -------------------------------------------------------------------


class CancelLies(Compliant):
    """cancel() returns True but the task still runs and completes normally."""

    def cancel(self, future):
        return True


# --- EXE-102 (resource_spec) ------------------------------------------------------------


class RejectsCommonKeys(Compliant):
    """Declares resource_spec but refuses the common keys."""

    def check_resources(self, resources):
        asked = [key for key in COMMON_KEYS if getattr(resources, key) is not None]
        if asked:
            raise ResourceSpecificationError(f"cannot honour {asked}")
        super().check_resources(resources)


# --- EXE-103 (scaling) ------------------------------------------------------------------


class ForgetsNewBlocks(Compliant):
    """scale_out() returns new block ids but the load never shows them."""

    def scale_out(self, blocks):
        new = [str(self._next_block + i) for i in range(blocks)]
        self._next_block += blocks
        return new
'''

KIT_MODULE = """
import pytest

from plait.conformance.executor import ExecutorConformance
from dummies import {cls}


class TestDummy(ExecutorConformance):
    component_class = {cls}
    {timeout}

    @pytest.fixture
    def component_kwargs(self):
        return {{"workers": 4}}
"""


BROKEN = [
    Broken("ThreadInInit", "EXE-001", "test_lifecycle_leaves_nothing_behind"),
    Broken("BlockingSubmit", "EXE-002", "test_submit_returns_before_the_task_runs"),
    Broken("WrongExceptionType", "EXE-003", "test_exception_keeps_type_message_and_traceback"),
    Broken("LosesTraceback", "EXE-003", "test_exception_keeps_type_message_and_traceback"),
    Broken("TruncatesLargeResults", "EXE-003", "test_large_arguments_and_results"),
    Broken("DropsTasksUnderLoad", "EXE-003", "test_many_concurrent_tasks"),
    Broken("SlowShutdown", "EXE-004", "test_shutdown_with_tasks_in_flight"),
    Broken("EmptyLabel", "EXE-005", "test_has_a_label"),
    Broken("UnknownCapability", "EXE-006", "test_declares_capabilities_and_maturity"),
    Broken("UnknownMaturity", "EXE-006", "test_declares_capabilities_and_maturity"),
    Broken("HangsWhenNotStarted", "EXE-007", "test_unusable_executor_reports_instead_of_hanging"),
    Broken("CapacityAsksTheBackend", "EXE-008", "test_capacity_answers_at_once"),
    Broken("CancelLies", "EXE-101", "test_cancel_stops_tasks_that_have_not_run"),
    Broken("RejectsCommonKeys", "EXE-102", "test_runs_tasks_with_common_resource_keys"),
    Broken("ForgetsNewBlocks", "EXE-103", "test_scales_blocks_out_and_in"),
]


def run_dummy(pytester: pytest.Pytester, cls: str, timeout: float | None) -> kitrun.KitRun:
    """Run the executor kit on dummy ``cls`` (with kit ``timeout``, or the default)."""
    module = KIT_MODULE.format(
        cls=cls, timeout=f"timeout = {timeout!r}" if timeout is not None else ""
    )
    return kitrun.run_kit(pytester, dummies=DUMMIES, module=module, component=cls, kind="executor")


def test_the_cases_cover_every_requirement_of_the_kit() -> None:
    from plait.conformance.executor import ExecutorConformance

    kitrun.assert_cases_cover(ExecutorConformance, BROKEN, KIT_REQUIREMENTS)


def test_compliant_dummy_passes_every_requirement(pytester: pytest.Pytester) -> None:
    run = run_dummy(pytester, "Compliant", timeout=None)
    kitrun.assert_compliant(
        run, KIT_REQUIREMENTS, passed=14, extended=("EXE-101", "EXE-102", "EXE-103")
    )


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: f"{c.requirement}-{c.dummy}")
def test_broken_dummy_fails_exactly_its_requirement(
    pytester: pytest.Pytester, case: Broken
) -> None:
    run = run_dummy(pytester, case.dummy, timeout=BROKEN_TIMEOUT)
    kitrun.assert_only_broken(run, case, KIT_REQUIREMENTS)
    run.result.assert_outcomes(passed=13, failed=1)
