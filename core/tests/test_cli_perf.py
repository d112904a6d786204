"""``plait perf``: no-op throughput of a configuration, sized per iteration like parsl-perf."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from plait.cli.main import main
from plait.cli.perf import RESULT, START_TASKS, noop


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A TOML configuration with the threads executor, run dir under ``tmp_path``."""
    path = tmp_path / "plait.toml"
    path.write_text(
        f'run_dir = "{tmp_path / "runinfo"}"\n\n'
        '[[executors]]\nkind = "threads"\nlabel = "pool"\nmax_threads = 2\n'
    )
    return path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["perf", *args])


def perf_json(*args: str) -> dict[str, Any]:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_noop_is_importable_and_ignores_its_arguments() -> None:
    assert noop() == RESULT
    assert noop(1, "x", resource_specification={"cores": 1}) == RESULT
    assert noop.__module__ == "plait.cli.perf"


def test_iterations_grow_from_the_sizing_batch_and_every_task_completes(
    config_file: Path,
) -> None:
    report = perf_json("--config", str(config_file), "--time", "0.2", "--iterate", "2")
    assert report["executors"] == {"pool": "plait_threads.executor.ThreadPoolExecutor"}
    assert report["target_seconds"] == 0.2
    rows = report["iterations"]
    assert [r["iteration"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["kind"] == "sizing"
    assert rows[0]["tasks"] == START_TASKS
    assert {r["kind"] for r in rows[1:]} <= {"resizing", "timed"}
    assert [r["kind"] for r in rows].count("timed") == 2
    assert rows[-1]["kind"] == "timed"
    # batches are sized from the measured rate to take 0.2 s: far more than the first 100
    assert rows[1]["tasks"] > rows[0]["tasks"]
    assert max(r["tasks"] for r in rows[1:]) > START_TASKS
    for row in rows:
        assert row["tasks"] > 0
        assert row["completed"] == row["tasks"]
        assert row["rate"] > 0
        assert 0 < row["submit_seconds"] <= row["seconds"]
    assert report["best_rate"] == max(r["rate"] for r in rows if r["kind"] == "timed")


def test_each_batch_is_sized_from_the_previous_rate(config_file: Path) -> None:
    rows = perf_json("--config", str(config_file), "--time", "0.2")["iterations"]
    for before, after in itertools.pairwise(rows):
        assert after["tasks"] == max(1, int(0.2 * before["rate"]))


def test_text_output_has_a_row_per_iteration_and_the_best_rate(config_file: Path) -> None:
    result = invoke("--config", str(config_file), "--time", "0.2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("plait perf: executors pool (")
    assert lines[1].split() == ["iteration", "kind", "tasks", "seconds", "tasks/s", "submit", "s"]
    first = lines[2].split()
    assert first[:3] == ["1", "sizing", str(START_TASKS)]
    assert any(line.split()[1] == "timed" for line in lines[3:-1])
    assert lines[-1].startswith("best: ") and "tasks/s" in lines[-1]


def test_resources_reach_the_kernel(config_file: Path) -> None:
    # an empty specification is accepted by any executor
    report = perf_json("--config", str(config_file), "--time", "0.2", "--resources", "{}")
    assert report["resources"] == {}
    assert all(r["completed"] == r["tasks"] for r in report["iterations"])
    # threads does not declare 'resource_spec': the kernel's CapabilityError is the message
    result = invoke("--config", str(config_file), "--time", "0.2", "--resources", '{"cores": 1}')
    assert result.exit_code != 0
    assert "resource_spec" in result.output
    assert "Traceback" not in result.output


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke("--config", str(tmp_path / "missing.toml"), "--time", "0.2")
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "missing.toml does not exist" in result.output
    assert "PLT-" in result.output  # the PlaitError's text, code included


def test_invalid_toml_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("retries = = 3\n")
    result = invoke("--config", str(bad))
    assert result.exit_code == 1
    assert "not valid TOML" in result.output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{cores: 1}", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"coers": 1}', "did you mean 'cores'"),
    ],
)
def test_invalid_resources_are_a_clear_error(config_file: Path, value: str, message: str) -> None:
    result = invoke("--config", str(config_file), "--resources", value)
    assert result.exit_code == 2
    assert "--resources" in result.output
    assert message in result.output


@pytest.mark.parametrize("args", [["--time", "0"], ["--iterate", "0"]])
def test_out_of_range_options_are_rejected(config_file: Path, args: list[str]) -> None:
    result = invoke("--config", str(config_file), *args)
    assert result.exit_code == 2
    assert "Invalid value" in result.output
