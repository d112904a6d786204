"""The hooks of :mod:`plait.hookspecs` that no other test exercises: the two selection
hooks (``firstresult``) and the registration hooks of the kinds without a first-party
component yet."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import plait
from plait.interfaces import (
    ErrorReporter,
    ExecutionProvider,
    Executor,
    Launcher,
    Serializer,
    Stager,
    TaskDescription,
)
from plait.plugins import get_plugin_system, registry
from plait.registry import KIND_BASES, Registry
from plait_threads import ThreadPoolExecutor

pytestmark = pytest.mark.usefixtures("fresh_plugins")


@pytest.fixture
def register() -> Iterator[Callable[[object], None]]:
    """``register(plugin)``: add a plugin object with ``@plait.hookimpl`` methods."""
    names: list[str] = []

    def _register(plugin: object) -> None:
        name = f"test-hooks-{len(names)}"
        get_plugin_system().pm.register(plugin, name=name)
        names.append(name)

    yield _register
    for name in names:
        get_plugin_system().pm.unregister(name=name)


# --- plait_select_serializer ------------------------------------------------------------


class PicksForBytes:
    """Answers only for ``bytes``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls: list[tuple[Any, list[str]]] = []

    @plait.hookimpl
    def plait_select_serializer(self, obj: Any, candidates: Sequence[str]) -> str | None:
        self.calls.append((obj, list(candidates)))
        return self.answer if isinstance(obj, bytes) and self.answer in candidates else None


class Abstains:
    def __init__(self) -> None:
        self.calls = 0

    @plait.hookimpl
    def plait_select_serializer(self, obj: Any, candidates: Sequence[str]) -> str | None:
        self.calls += 1
        return None


def select(obj: Any, candidates: list[str]) -> str | None:
    answer: str | None = get_plugin_system().hook.plait_select_serializer(
        obj=obj, candidates=candidates
    )
    return answer


def test_select_serializer_first_non_none_answer_wins(
    register: Callable[[object], None],
) -> None:
    early, late, abstains = PicksForBytes("raw"), PicksForBytes("pickle"), Abstains()
    # pluggy calls the most recently registered implementation first
    register(early)
    register(late)
    register(abstains)
    candidates = ["raw", "pickle"]

    assert select(b"payload", candidates) == "pickle"
    assert abstains.calls == 1, "an abstaining plugin does not stop the search"
    assert late.calls == [(b"payload", candidates)]
    assert early.calls == [], "once one plugin answered, the rest are not asked"

    assert select({"not": "bytes"}, candidates) is None, "nobody answers: the default applies"
    assert early.calls == [({"not": "bytes"}, candidates)], "every plugin was asked"
    assert len(late.calls) == abstains.calls == 2

    assert select(b"payload", ["raw"]) == "raw", "the first plugin with an answer decides"
    assert len(early.calls) == 2 and len(late.calls) == abstains.calls == 3


def test_select_serializer_without_implementations_is_none() -> None:
    assert select(b"payload", ["pickle"]) is None


# --- plait_choose_executor --------------------------------------------------------------


@plait.python_app
def where() -> str:
    return threading.current_thread().name


@plait.python_app(executors=["left"])
def only_left() -> str:
    return threading.current_thread().name


class ChooseByLabel:
    def __init__(self, label: str | None) -> None:
        self.label = label
        self.calls: list[tuple[TaskDescription, list[str]]] = []

    @plait.hookimpl
    def plait_choose_executor(
        self, task: TaskDescription, executors: Sequence[Executor]
    ) -> Executor | None:
        self.calls.append((task, [e.label for e in executors]))
        for executor in executors:
            if executor.label == self.label:
                return executor
        return None


def two_pools(tmp_path: Path) -> plait.Config:
    return plait.Config(
        executors=[
            ThreadPoolExecutor(label="left", max_threads=2),
            ThreadPoolExecutor(label="right", max_threads=2),
        ],
        run_dir=str(tmp_path / "runinfo"),
    )


def test_choose_executor_runs_every_task_on_the_chosen_executor(
    tmp_path: Path, register: Callable[[object], None]
) -> None:
    abstains, chooser = ChooseByLabel(None), ChooseByLabel("right")
    register(chooser)
    register(abstains)  # asked first, answers None
    with plait.load(two_pools(tmp_path)):
        threads = [f.result(timeout=30) for f in [where() for _ in range(20)]]
        pinned = only_left().result(timeout=30)
    assert all(name.startswith("plait-right") for name in threads), threads
    assert len(chooser.calls) == len(abstains.calls) == 20
    for task, labels in chooser.calls:
        assert isinstance(task, TaskDescription) and task.name == "where"
        assert labels == ["left", "right"]
    # with one allowed executor there is nothing to choose: the hook is not called
    assert pinned.startswith("plait-left")
    assert len(chooser.calls) == 20


def test_choose_executor_default_spreads_tasks(
    tmp_path: Path, register: Callable[[object], None]
) -> None:
    abstains = ChooseByLabel(None)
    register(abstains)
    with plait.load(two_pools(tmp_path)):
        threads = [f.result(timeout=30) for f in [where() for _ in range(20)]]
    assert {name.split("_")[0] for name in threads} == {"plait-left", "plait-right"}
    assert len(abstains.calls) == 20


# --- registration hooks -------------------------------------------------------------------

COMPONENT_CLASSES: dict[str, type[Any]] = {
    kind: type(f"Hooked{base.__name__}", (base,), {"__module__": __name__})
    for kind, base in KIND_BASES.items()
}


class RegistersEveryKind:
    """One component of each kind, each named ``hooked``."""

    @plait.hookimpl
    def plait_register_executors(self, registry: Registry) -> None:
        registry.add("hooked", COMPONENT_CLASSES["executor"])

    @plait.hookimpl
    def plait_register_providers(self, registry: Registry) -> None:
        registry.add("hooked", COMPONENT_CLASSES["provider"])

    @plait.hookimpl
    def plait_register_launchers(self, registry: Registry) -> None:
        registry.add("hooked", COMPONENT_CLASSES["launcher"])

    @plait.hookimpl
    def plait_register_serializers(self, registry: Registry) -> None:
        registry.add("hooked", COMPONENT_CLASSES["serializer"])

    @plait.hookimpl
    def plait_register_stagers(self, registry: Registry) -> None:
        registry.add("hooked", COMPONENT_CLASSES["stager"])

    @plait.hookimpl
    def plait_register_error_reporters(self, registry: Registry) -> None:
        registry.add("hooked", COMPONENT_CLASSES["error_reporter"])


def test_component_classes_derive_from_their_kind() -> None:
    bases = {
        "executor": Executor,
        "provider": ExecutionProvider,
        "launcher": Launcher,
        "serializer": Serializer,
        "stager": Stager,
        "error_reporter": ErrorReporter,
    }
    assert set(bases) == set(KIND_BASES)
    for kind, cls in COMPONENT_CLASSES.items():
        assert issubclass(cls, bases[kind])


@pytest.mark.parametrize("late", [False, True], ids=["before-first-use", "after-first-use"])
def test_registration_hooks_fill_every_registry(
    register: Callable[[object], None], late: bool
) -> None:
    if late:  # the registries exist already: the historic hooks replay for the plugin
        for kind in KIND_BASES:
            assert "hooked" not in registry(kind)
    register(RegistersEveryKind())
    for kind, cls in COMPONENT_CLASSES.items():
        assert registry(kind).get("hooked") is cls
        assert registry(kind).origins["hooked"] == __name__
