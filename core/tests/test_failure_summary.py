"""The end-of-run summary: failed tasks grouped by code, with counts and one example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import plait
from plait import bash_app, python_app


@python_app
def divide(x: int) -> float:
    return 1 / x


@bash_app
def exits(code: int) -> str:
    return f"exit {code}"


@python_app
def after(value: float) -> float:
    return value


def test_cleanup_prints_failures_grouped_by_code(
    load: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    kernel = load(error_reporters=["console"])
    futures = [divide(0), divide(0), divide(2), exits(3)]
    dependents = [after(futures[0]), after(futures[1])]
    for future in [*futures, *dependents]:
        future.exception(timeout=30)
    plait.clear()
    groups = {g.key: g.count for g in kernel.failures.groups}
    assert groups == {"ZeroDivisionError": 2, "PLT-200": 2, "PLT-202": 1}
    summary = capsys.readouterr().err.split("plait: 5 tasks failed in this run\n", 1)[1]
    lines = summary.splitlines()
    assert lines[0].split()[:3] == ["2", "x", "PLT-200"]
    assert "e.g. task" in lines[0] and "did not run because an ancestor failed" in lines[0]
    assert "ZeroDivisionError" in summary and "division by zero" in summary
    assert "1 x PLT-202 bash app command failed" in summary
    assert "5 tasks failed in this run" in (Path(kernel.run_dir) / "plait.log").read_text()


def test_a_run_without_failures_prints_no_summary(
    load: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    kernel = load(error_reporters=["console"])
    assert divide(4).result(timeout=30) == 0.25
    plait.clear()
    assert kernel.failures.total == 0
    assert "failed in this run" not in capsys.readouterr().err
