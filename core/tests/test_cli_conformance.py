"""``plait conformance NAME``: the kit run on an installed component, as a table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from plait.cli.conformance import KIT_CLASSES, conformance, kit_class, parse_options
from plait.interfaces import Launcher
from plait.plugins import get_plugin_system, hookimpl, reset_plugin_system
from plait.registry import KIND_BASES, Registry

EXECUTOR_IDS = [f"EXE-00{n}" for n in range(1, 9)] + ["EXE-101", "EXE-102", "EXE-103"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(conformance, list(args))


def rows(output: str) -> dict[str, list[str]]:
    """The table's rows by requirement id: ``[tier, status, reason]``."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"([A-Z]{3}-\d{3})\s+(\S+)\s+(\S+)\s*(.*)$", line)
        if match:
            found[match[1]] = [match[2], match[3], match[4]]
    return found


def test_threads_passes_the_executor_kit() -> None:
    result = invoke("threads")
    assert result.exit_code == 0, result.output
    assert "running the executor kit" in result.output
    assert "plait_threads.executor.ThreadPoolExecutor" in result.output
    assert re.search(r"^requirement\s+tier\s+status\s+reason$", result.output, re.M)
    table = rows(result.output)
    assert sorted(table) == EXECUTOR_IDS
    for req_id in EXECUTOR_IDS[:-2]:
        assert table[req_id][1] == "pass", (req_id, table[req_id])
    assert table["EXE-001"][0] == "core"
    assert table["EXE-102"] == [
        "extended",
        "skip",
        "capability 'resource_spec' not declared by ThreadPoolExecutor",
    ]
    assert table["EXE-103"] == [
        "extended",
        "skip",
        "capability 'scaling' not declared by ThreadPoolExecutor",
    ]
    assert "threads: 9 pass, 2 skip" in result.output


def test_failed_requirement_exits_nonzero_with_report(tmp_path: Path) -> None:
    report = tmp_path / "out" / "report.json"
    result = invoke(
        "threads",
        "--option",
        'label=""',
        "--option",
        "max_threads=3",
        "--report",
        str(report),
        "--integration",
    )
    assert result.exit_code == 1, result.output
    table = rows(result.stdout)
    assert table["EXE-005"][:2] == ["core", "fail"]
    assert "test_has_a_label: AssertionError: label must be a non-empty str" in table["EXE-005"][2]
    assert table["EXE-001"][1] == "pass"
    assert "1 requirement(s) failed: EXE-005" in result.stderr
    assert "test_has_a_label" in result.stderr, "pytest's output explains the failure"
    data = json.loads(report.read_text())
    (component,) = data["components"].values()
    assert component["kind"] == "executor"
    assert component["requirements"]["EXE-005"]["status"] == "fail"
    assert f"report written to {report}" in result.stdout


def test_unknown_name_lists_installed_components() -> None:
    result = invoke("thread")
    assert result.exit_code == 1
    assert "no installed component is named 'thread'" in result.output
    assert re.search(r"installed executors: [^;]*\bthreads\b", result.output)
    assert "serializers: " in result.output
    assert "did you mean 'threads'?" in result.output


def test_kind_restricts_the_search() -> None:
    result = invoke("threads", "--kind", "serializer")
    assert result.exit_code == 1
    assert "no installed serializer is named 'threads' (installed serializers: " in result.output
    assert "pickle" in result.output
    assert "executors" not in result.output


def test_kind_may_be_spelled_with_a_hyphen() -> None:
    result = invoke("threads", "--kind", "error-reporter")
    assert result.exit_code == 1
    assert "no installed error reporter is named 'threads'" in result.output


def test_unknown_kind_is_a_usage_error() -> None:
    result = invoke("threads", "--kind", "scheduler")
    assert result.exit_code == 2
    assert "'scheduler' is not one of" in result.output


class OneLauncher(Launcher):
    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        return command


@pytest.fixture
def threads_launcher() -> Iterator[None]:
    """A launcher also named ``threads`` (in a plugin system of this test only)."""

    class Plugin:
        @hookimpl
        def plait_register_launchers(self, registry: Registry) -> None:
            registry.add("threads", OneLauncher)

    reset_plugin_system()
    try:
        get_plugin_system().pm.register(Plugin(), name="test-threads-launcher")
        yield
    finally:
        reset_plugin_system()


@pytest.mark.usefixtures("threads_launcher")
def test_name_of_two_kinds_needs_kind() -> None:
    result = invoke("threads")
    assert result.exit_code == 2
    assert "'threads' names components of several kinds (executor, launcher)" in result.output
    assert "--kind" in result.output


def test_option_values_are_json_when_they_parse() -> None:
    assert parse_options(("a=3", "b=true", 'c=["x", 1]', 'd="7"', "e=text", "f=", "g=a=b")) == {
        "a": 3,
        "b": True,
        "c": ["x", 1],
        "d": "7",
        "e": "text",
        "f": "",
        "g": "a=b",
    }


def test_option_without_equals_is_a_usage_error() -> None:
    result = invoke("threads", "--option", "max_threads")
    assert result.exit_code == 2
    assert "'max_threads' is not KEY=VALUE" in result.output


def test_every_kind_has_a_kit_class_path() -> None:
    assert set(KIT_CLASSES) == set(KIND_BASES)
    assert kit_class("executor") == ("plait.conformance.executor", "ExecutorConformance")


def test_a_component_may_name_its_kit_variant() -> None:
    class OnAScheduler:
        conformance_kit = "plait.conformance.scheduler:SchedulerProviderConformance"

    assert kit_class("provider", OnAScheduler) == (
        "plait.conformance.scheduler",
        "SchedulerProviderConformance",
    )
    assert kit_class("provider") == ("plait.conformance.provider", "ProviderConformance")


def test_missing_kit_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KIT_CLASSES, "executor", "plait.conformance.nowhere:NoConformance")
    result = invoke("threads")
    assert result.exit_code == 1
    assert "this plait has no conformance kit for executors" in result.output
