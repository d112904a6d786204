"""Plugin loading across packages, with real installed distributions.

``plait-example-plugin`` (``tests/fixtures/plait-example-plugin``) is pip-installed into
every test environment by tox; it provides the executor ``example-inline`` and a
``plait_task_event`` hook. Broken plugins are built here at test time as real
distributions (a package plus a ``.dist-info`` with an entry point) in a temporary
directory put on ``sys.path``.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from typeguard import suppress_type_checks

import plait
from plait.cli.main import main
from plait.errors import ComponentNotFoundError, ConfigError, PluginError
from plait.interfaces import Executor
from plait.kernel import TaskState
from plait.plugins import (
    ENTRY_POINT_GROUP,
    PluginInfo,
    get_plugin_system,
    registry,
    reset_plugin_system,
)
from plait.registry import Registry

EXAMPLE_MODULES = (
    "plait_example_plugin",
    "plait_example_plugin.executor",
    "plait_example_plugin.plugin",
)


pytestmark = pytest.mark.usefixtures("fresh_plugins")


@pytest.fixture
def install_dist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str], None]]:
    """Install a one-module plugin distribution ``plait-<name>`` into a temp dir on
    sys.path, with entry point ``<name> = "plait_<name>"``."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def install(name: str, source: str) -> None:
        module = f"plait_{name}"
        dist = f"plait_{name}-0.1.dist-info"
        (site / module).mkdir()
        (site / module / "__init__.py").write_text(source)
        info = site / dist
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: plait-{name}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = {module}\n")
        (info / "RECORD").write_text(
            f"{module}/__init__.py,,\n{dist}/METADATA,,\n{dist}/entry_points.txt,,\n"
            f"{dist}/RECORD,,\n"
        )
        modules.append(module)
        importlib.invalidate_caches()

    yield install
    for module in modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()


def example_events() -> list[Any]:
    """The example plugin's recorded events (the module plait imported)."""
    events: list[Any] = sys.modules["plait_example_plugin.plugin"].EVENTS
    return events


def config(tmp_path: Path, *executors: dict[str, Any]) -> plait.Config:
    return plait.Config(
        executors=list(executors),
        run_dir=str(tmp_path / "runinfo"),
        enable_development=["example-inline"],  # the fixture plugin is development-level
    )


@plait.python_app
def add(a: int, b: int) -> int:
    return a + b


@plait.python_app
def fail(message: str) -> None:
    raise ValueError(message)


# --- the installed example plugin ------------------------------------------------------


def test_entry_point_found_from_installed_distribution() -> None:
    eps = {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert eps["example"].value == "plait_example_plugin.plugin"
    assert metadata.version("plait-example-plugin") == "0.1.0"

    system = get_plugin_system()
    assert system.plugins["example"] == PluginInfo(
        "example", "plait-example-plugin", "0.1.0", "plait_example_plugin.plugin"
    )
    assert "example-inline" in system.registry("executor")
    assert system.implemented_hooks("example") == [
        "plait_register_executors",
        "plait_task_event",
    ]


def test_executor_usable_by_name_without_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in EXAMPLE_MODULES:  # prove plait imports the plugin, not this test
        monkeypatch.delitem(sys.modules, name, raising=False)

    cfg = config(tmp_path, {"kind": "example-inline", "label": "ex"})
    assert "plait_example_plugin.plugin" in sys.modules
    (executor,) = cfg.executors
    assert isinstance(executor, Executor)
    assert type(executor).__module__ == "plait_example_plugin.executor"
    assert executor.label == "ex"
    assert executor.capabilities == frozenset()
    example_events().clear()

    with plait.load(cfg) as dfk:
        first = add(2, 3)
        second = add(first, 10)  # a dependency through the inline executor
        broken = fail("boom")
        assert second.result(timeout=30) == 15
        assert first.result(timeout=30) == 5
        with pytest.raises(ValueError, match="boom"):
            broken.result(timeout=30)
        assert dfk.executors["ex"] is executor
    assert getattr(executor, "submitted", None) == 3

    by_task: dict[int, list[Any]] = {}
    for event in example_events():
        by_task.setdefault(event.task_id, []).append(event)
    ok_states = [TaskState.PENDING, TaskState.LAUNCHED, TaskState.EXEC_DONE]
    assert [e.state for e in by_task[first.tid]] == ok_states
    assert [e.state for e in by_task[second.tid]] == ok_states
    assert [e.state for e in by_task[broken.tid]] == [
        TaskState.PENDING,
        TaskState.LAUNCHED,
        TaskState.FAILED,
    ]
    assert [e.executor for e in by_task[first.tid]] == [None, "ex", "ex"]
    assert {e.name for e in by_task[first.tid]} == {"add"}
    assert by_task[broken.tid][-1].error == "ValueError: boom"
    for events in by_task.values():
        stamps = [e.timestamp for e in events]
        assert stamps == sorted(stamps)
    # the dependent task launched only after its dependency finished
    assert by_task[second.tid][1].timestamp >= by_task[first.tid][2].timestamp


# --- environment switches ----------------------------------------------------------------


def test_disable_plugins_stops_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_DISABLE_PLUGINS", "example")
    system = get_plugin_system()
    assert "example" not in system.plugins
    assert {"builtins", "threads"} <= set(system.plugins)
    assert "example-inline" not in registry("executor")

    with pytest.raises(ComponentNotFoundError) as info:
        config(tmp_path, {"kind": "example-inline", "label": "ex"})
    assert info.value.code == "PLT-112"
    assert "example-inline" in info.value.message
    assert "pip install" in info.value.hint
    assert "pip install" in str(info.value)


def test_disable_several_with_spaces_leaves_no_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_DISABLE_PLUGINS", " example , threads , htex , globus-compute ")
    loaded = set(get_plugin_system().plugins)
    assert "builtins" in loaded and not loaded & {"example", "threads", "htex", "globus-compute"}
    assert list(registry("executor")) == []
    with pytest.raises(ConfigError, match="no executor plugin is installed") as info:
        plait.load()
    assert "pip install plait-threads" in info.value.hint


def test_load_plugins_only_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_LOAD_PLUGINS", "threads")
    system = get_plugin_system()
    assert set(system.plugins) == {"builtins", "threads"}
    assert list(registry("executor")) == ["threads"]
    # built-ins always load
    assert "pickle" in registry("serializer")
    assert "local-file" in registry("stager")
    assert "console" in registry("error_reporter")


def test_load_and_disable_combine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_LOAD_PLUGINS", "threads,example")
    monkeypatch.setenv("PLAIT_DISABLE_PLUGINS", "example")
    assert set(get_plugin_system().plugins) == {"builtins", "threads"}


def test_switches_read_when_system_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "example" in get_plugin_system().plugins
    monkeypatch.setenv("PLAIT_DISABLE_PLUGINS", "example")
    assert "example" in get_plugin_system().plugins  # cached until reset
    reset_plugin_system()
    assert "example" not in get_plugin_system().plugins


def test_trace_plugins_logs_hook_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PLAIT_TRACE_PLUGINS", "1")
    caplog.set_level(logging.DEBUG, logger="plait.plugins")
    registry("executor")
    traced = [r.getMessage() for r in caplog.records if r.name == "plait.plugins"]
    assert any("plait_register_executors" in m for m in traced)
    assert any("finish plait_register_executors" in m for m in traced)

    caplog.clear()
    with plait.load(config(tmp_path, {"kind": "example-inline", "label": "ex"})):
        assert add(1, 1).result(timeout=30) == 2
    traced = [r.getMessage() for r in caplog.records if r.name == "plait.plugins"]
    assert any("plait_task_event" in m and "exec_done" in m.lower() for m in traced)


def test_no_trace_without_switch(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="plait.plugins")
    registry("executor")
    traced = [r.getMessage() for r in caplog.records if r.name == "plait.plugins"]
    assert not any("plait_register_executors" in m for m in traced)


# --- broken plugins ------------------------------------------------------------------


MISSPELT = """\
import plait

@plait.hookimpl
def plait_register_executor(registry):  # missing "s": no such hook
    pass
"""


def test_check_pending_rejects_misspelt_hook(
    install_dist: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    install_dist("misspelt", MISSPELT)
    assert "misspelt" in {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}

    with pytest.raises(PluginError) as info:
        get_plugin_system()
    err = info.value
    assert err.code == "PLT-120"
    assert "'misspelt'" in err.message
    assert "plait-misspelt 0.1" in err.message
    assert "plait_register_executor" in err.message
    assert "plait.hookspecs" in err.hint

    # the failure is not cached, and the switch is the way out
    with pytest.raises(PluginError):
        get_plugin_system()
    monkeypatch.setenv("PLAIT_DISABLE_PLUGINS", "misspelt")
    assert "misspelt" not in get_plugin_system().plugins


def test_hook_with_unknown_argument_is_a_plugin_error(
    install_dist: Callable[[str, str], None],
) -> None:
    install_dist(
        "badargs",
        "import plait\n\n@plait.hookimpl\ndef plait_task_event(evt):\n    pass\n",
    )
    with pytest.raises(PluginError, match="badargs") as info:
        get_plugin_system()
    assert "evt" in info.value.message


def test_plugin_that_fails_to_import(install_dist: Callable[[str, str], None]) -> None:
    install_dist("crash", "raise RuntimeError('broken on import')\n")
    with pytest.raises(PluginError, match="failed to import") as info:
        get_plugin_system()
    assert "broken on import" in info.value.message
    assert "PLAIT_DISABLE_PLUGINS=crash" in info.value.hint


# --- the registry ------------------------------------------------------------------------


def test_non_executor_class_is_rejected() -> None:
    from plait.builtins.pickle_serializer import PickleSerializer

    class WrongKind:
        @plait.hookimpl
        def plait_register_executors(self, registry: Registry) -> None:
            registry.add("pickle-exec", PickleSerializer)

    system = get_plugin_system()
    system.register(WrongKind(), PluginInfo("wrong", "test-dist", "0", __name__))
    with pytest.raises(PluginError, match="not a subclass of Executor") as info:
        system.registry("executor")
    assert info.value.code == "PLT-120"
    assert "pickle-exec" in info.value.message


def test_registry_rejects_non_classes_at_run_time() -> None:
    reg = Registry("executor")
    with suppress_type_checks():  # what a plugin author without a type checker hits
        for bad in (object, Executor.submit, 42):
            with pytest.raises(PluginError, match="not a subclass of Executor"):
                reg.add("bad", bad)  # type: ignore[arg-type]
    assert "bad" not in reg


DUPLICATE = """\
from concurrent.futures import Future

import plait
from plait.interfaces import Executor


class OtherThreads(Executor):
    label = "threads"

    def submit(self, task, func, args, kwargs):
        return Future()

    def shutdown(self, wait=True):
        pass


@plait.hookimpl
def plait_register_executors(registry):
    registry.add("threads", OtherThreads)
"""


def test_same_name_twice_with_different_classes(
    tmp_path: Path, install_dist: Callable[[str, str], None]
) -> None:
    install_dist("dup", DUPLICATE)
    assert "dup" in get_plugin_system().plugins
    with pytest.raises(PluginError, match="registered twice") as info:
        config(tmp_path, {"kind": "threads"})
    assert "plait_dup" in info.value.message
    assert "plait_threads" in info.value.message


def test_same_class_twice_is_fine() -> None:
    from plait_threads import ThreadPoolExecutor

    reg = Registry("executor")
    reg.add("threads", ThreadPoolExecutor)
    reg.add("threads", ThreadPoolExecutor)
    assert reg.get("threads") is ThreadPoolExecutor


# --- `plait plugins` ------------------------------------------------------------------------


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["plugins", *args])


def test_cli_plugins_text() -> None:
    result = run_cli()
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"builtins  (plait {metadata.version('plait')})" in out
    assert f"threads  (plait-threads {metadata.version('plait-threads')})" in out
    assert "example  (plait-example-plugin 0.1.0)" in out
    assert "example-inline" in out
    assert "capabilities: cancel" in out
    assert "hooks: plait_register_executors, plait_task_event" in out


def test_cli_plugins_json() -> None:
    result = run_cli("--json")
    assert result.exit_code == 0, result.output
    report = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert {"builtins", "threads", "example"} <= set(report)

    def components(entry: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(c["kind"], c["name"]): c for c in entry["components"]}

    builtins = report["builtins"]
    assert builtins["distribution"] == "plait"
    assert builtins["version"] == metadata.version("plait")
    assert set(components(builtins)) == {
        ("serializer", "pickle"),
        ("stager", "local-file"),
        ("error_reporter", "console"),
    }
    assert builtins["hooks"] == [
        "plait_register_error_reporters",
        "plait_register_serializers",
        "plait_register_stagers",
    ]

    threads = report["threads"]
    assert threads["distribution"] == "plait-threads"
    assert threads["version"] == metadata.version("plait-threads")
    (executor,) = threads["components"]
    assert executor["kind"] == "executor"
    assert executor["name"] == "threads"
    assert executor["class"] == "plait_threads.executor.ThreadPoolExecutor"
    assert "cancel" in executor["capabilities"]
    assert executor["maturity"]
    assert threads["hooks"] == ["plait_register_executors"]

    example = report["example"]
    assert example["distribution"] == "plait-example-plugin"
    assert example["version"] == "0.1.0"
    assert example["module"] == "plait_example_plugin.plugin"
    assert components(example) == {
        ("executor", "example-inline"): {
            "kind": "executor",
            "name": "example-inline",
            "class": "plait_example_plugin.executor.InlineExecutor",
            "maturity": "development",
            "capabilities": [],
        }
    }
    assert example["hooks"] == ["plait_register_executors", "plait_task_event"]


def test_cli_plugins_honours_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_DISABLE_PLUGINS", "example")
    result = run_cli("--json")
    assert result.exit_code == 0, result.output
    assert "example" not in {entry["name"] for entry in json.loads(result.stdout)}


def test_cli_plugins_reports_broken_plugin(install_dist: Callable[[str, str], None]) -> None:
    install_dist("misspelt", MISSPELT)
    result = run_cli()
    assert result.exit_code == 1
    assert "PLT-120" in result.output
    assert "plait_register_executor" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean click error, no traceback
