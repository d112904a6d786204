"""What every kit test class shares: requirement markers and the component fixture."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from plait.procfs import all_stats

KIT_VERSION = "0.1.0"

TIERS = ("core", "extended", "integration")


def requirement(
    req_id: str, *, capability: str | None = None, integration: bool = False
) -> pytest.MarkDecorator:
    """Mark a kit test as checking requirement ``req_id`` of the kind's spec.

    A test with a ``capability`` is in the ``extended`` tier and skips when the
    component does not declare it; ``integration`` tests need the real backend and
    run only with ``--plait-integration``.
    """
    tier = "integration" if integration else ("extended" if capability else "core")
    return pytest.mark.plait_requirement(req_id, capability=capability, tier=tier)


def requirement_tests(kit_class: type[Any]) -> dict[str, list[str]]:
    """The requirements the tests of ``kit_class`` check: requirement id -> names of the
    test methods marked with it by :func:`requirement`, both sorted.

    Inherited tests count, and so does a kit test a subclass overrides (an override does
    not carry the kit's mark, but the report still records it under the kit's
    requirement)::

        >>> from plait.conformance.executor import ExecutorConformance
        >>> requirement_tests(ExecutorConformance)["EXE-101"]
        ['test_cancel_stops_tasks_that_have_not_run']
    """
    found: dict[str, set[str]] = {}
    for klass in kit_class.__mro__:
        for name, value in vars(klass).items():
            if not name.startswith("test"):
                continue
            for mark in getattr(value, "pytestmark", []):
                if mark.name == "plait_requirement":
                    found.setdefault(mark.args[0], set()).add(name)
    return {req: sorted(found[req]) for req in sorted(found)}


def requirement_ids(kit_class: type[Any]) -> set[str]:
    """The ids of the requirements the tests of ``kit_class`` check (see
    :func:`requirement_tests`): for a kit class, the ids of its spec that it covers; for
    a plugin's subclass, the same ids, overridden tests included::

        >>> from plait.conformance.stager import StagerConformance
        >>> sorted(requirement_ids(StagerConformance))[:2]
        ['STG-001', 'STG-002']
    """
    return set(requirement_tests(kit_class))


class ConformanceBase:
    """Base of the per-kind kit classes.

    A plugin's test module subclasses the kit class of its kind, sets
    ``component_class``, and overrides the ``component_kwargs`` fixture when the
    constructor needs arguments::

        class TestMine(ExecutorConformance):
            component_class = MyExecutor

            @pytest.fixture
            def component_kwargs(self):
                return {"workers": 2}
    """

    kind: ClassVar[str]
    spec_version: ClassVar[str]
    component_class: ClassVar[type[Any]]
    timeout: ClassVar[float] = 60.0
    """Seconds a kit test waits for a task, a call or a thread before failing; a slow
    backend may raise it, the kit's own tests lower it to fail broken dummies fast."""

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``component_class``; override to supply them."""
        return {}

    def make(self, component_kwargs: dict[str, Any]) -> Any:
        """A new instance of the component under test."""
        return self.component_class(**component_kwargs)


def assert_declarations(
    cls: type[Any], interface: type[Any], known: frozenset[str], spec: str
) -> None:
    """The check every kit's declaration test starts with: ``cls`` implements
    ``interface``, declares only capabilities its ``spec`` defines (``known``) as a
    frozenset, and a maturity level from ``maturity.yaml``'s ladder."""
    from plait.interfaces import MATURITY_LEVELS

    assert issubclass(cls, interface), f"{cls.__qualname__} is not a {interface.__qualname__}"
    assert isinstance(cls.capabilities, frozenset), "capabilities must be a frozenset"
    unknown = cls.capabilities - known
    assert not unknown, f"capabilities not in the {spec} spec: {sorted(unknown)}"
    assert cls.maturity in MATURITY_LEVELS, f"unknown maturity level {cls.maturity!r}"


def child_pids() -> set[int]:
    """Live processes whose parent is this process (Linux /proc; empty elsewhere)."""
    me = os.getpid()
    return {stat.pid for stat in all_stats() if stat.ppid == me and stat.live}


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return predicate()
        time.sleep(interval)


def leftovers(
    threads_before: set[threading.Thread], pids_before: set[int], timeout: float = 10.0
) -> list[str]:
    """Threads and child processes started since the snapshot that are still alive
    after waiting up to ``timeout`` seconds for them to end."""
    alive: list[str] = []

    def check() -> bool:
        alive.clear()
        alive.extend(f"thread {t.name}" for t in threading.enumerate() if t not in threads_before)
        alive.extend(f"process {pid}" for pid in sorted(child_pids() - pids_before))
        return not alive

    wait_until(check, timeout=timeout)
    return alive


def call_with_timeout(func: Callable[[], Any], timeout: float) -> tuple[bool, Any]:
    """Run ``func`` on a helper thread; ``(finished, result or exception)``."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(func())
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=run, name="plait-kit-call", daemon=True)
    thread.start()
    thread.join(timeout)
    return (not thread.is_alive(), box[0] if box else None)
