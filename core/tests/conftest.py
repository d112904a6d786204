"""Shared fixtures for the kernel-semantics tests.

Every test gets a fresh run directory under ``tmp_path``; the ``load`` fixture starts a
kernel there and always cleans it up. An autouse fixture checks that no thread started
during a test outlives it, so a kernel that leaks its dispatcher, pool or timer threads
fails the test that leaked them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import plait

# plait is imported inside the fixtures, not here: pytest loads this file before
# plugins are configured, and typeguard can only instrument plait if it is imported
# after its import hook is installed.

pytest_plugins = ["pytester"]  # the conformance kit is tested with pytester

THREAD_GRACE = 10.0
"""Seconds a thread started by a test may take to finish after cleanup."""


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Fail a test that leaves a thread it started running after cleanup."""
    import plait

    plait.clear()
    before = set(threading.enumerate())
    yield
    plait.clear()
    deadline = time.monotonic() + THREAD_GRACE
    leftover = [t for t in threading.enumerate() if t not in before]
    for thread in leftover:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    alive = [t.name for t in leftover if t.is_alive()]
    assert not alive, f"threads left running after the test: {alive}"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """The ``run_dir`` of the kernels a test loads (``runinfo/NNN`` are made in it)."""
    return tmp_path / "runinfo"


LoadFn = Callable[..., "plait.DataFlowKernel"]


@pytest.fixture
def load(run_dir: Path, request: pytest.FixtureRequest) -> Iterator[LoadFn]:
    """``load(**config_fields)`` starts a kernel in ``run_dir`` (threads executor with 4
    threads unless ``executors`` is given); whatever is loaded is cleared afterwards."""
    import plait
    from plait_threads import ThreadPoolExecutor

    # plugin fixtures must be registered before a kernel starts (it looks up hooks once)
    for name in ("task_events", "register_plugin"):
        if name in request.fixturenames:
            request.getfixturevalue(name)

    def _load(**fields: Any) -> plait.DataFlowKernel:
        fields.setdefault("executors", [ThreadPoolExecutor(max_threads=4)])
        fields.setdefault("run_dir", str(run_dir))
        return plait.load(plait.Config(**fields))

    try:
        yield _load
    finally:
        plait.clear()


@pytest.fixture
def dfk(load: LoadFn) -> plait.DataFlowKernel:
    """A loaded kernel with the default test configuration."""
    return load()


class Counter:
    """A thread-safe call counter, for asserting how often an app body ran."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[Any, int] = {}

    def hit(self, key: Any = None) -> int:
        """Count one call under ``key``; return the new count."""
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]

    def __getitem__(self, key: Any) -> int:
        with self._lock:
            return self._counts.get(key, 0)

    @property
    def total(self) -> int:
        """Calls counted under every key."""
        with self._lock:
            return sum(self._counts.values())


@pytest.fixture
def counter() -> Counter:
    """A fresh :class:`Counter`."""
    return Counter()


def _wait_done(*futures: Future[Any], timeout: float = 30.0) -> None:
    _done, not_done = wait(futures, timeout=timeout)
    assert not not_done, f"futures still not done after {timeout} s: {not_done}"


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def wait_done() -> Callable[..., None]:
    """``wait_done(*futures, timeout=30)``: wait until every future finished (any
    outcome), failing the test instead of hanging."""
    return _wait_done


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """``wait_for(predicate, timeout=30, what="")``: a bounded poll, for conditions no
    future signals (such as a file a periodic checkpoint writes)."""
    return _wait_for


class TaskEvents:
    """Records every ``plait_task_event`` (registered as a plugin for one test)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.events: list[Any] = []

    def record(self, event: Any) -> None:
        """Keep ``event`` and wake waiters."""
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def states(self, tid: int) -> list[str]:
        """The states task ``tid`` went through so far, as strings."""
        with self._cond:
            return [e.state.value for e in self.events if e.task_id == tid]

    def wait(self, tid: int, state: str, timeout: float = 30.0) -> None:
        """Block until task ``tid`` has entered ``state`` (fail after ``timeout``)."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: any(e.task_id == tid and e.state.value == state for e in self.events),
                timeout,
            )
        assert ok, f"task {tid} never reached {state!r}; saw {self.states(tid)}"


@pytest.fixture
def task_events() -> Iterator[TaskEvents]:
    """A :class:`TaskEvents` recorder, registered before the test loads a kernel."""
    import plait
    from plait.plugins import get_plugin_system

    class Recorder(TaskEvents):
        @plait.hookimpl
        def plait_task_event(self, event: plait.TaskEvent) -> None:
            self.record(event)

    recorder = Recorder()
    pm = get_plugin_system().pm
    pm.register(recorder, name="test-task-events")
    try:
        yield recorder
    finally:
        pm.unregister(name="test-task-events")


@pytest.fixture
def register_plugin() -> Iterator[Callable[[object], None]]:
    """``register_plugin(obj)`` registers a plugin object (with ``@plait.hookimpl``
    methods) for this test only; register before loading the kernel."""
    from plait.plugins import get_plugin_system

    pm = get_plugin_system().pm
    names: list[str] = []

    def _register(plugin: object) -> None:
        name = f"test-plugin-{len(names)}"
        pm.register(plugin, name=name)
        names.append(name)

    try:
        yield _register
    finally:
        for name in names:
            pm.unregister(name=name)
