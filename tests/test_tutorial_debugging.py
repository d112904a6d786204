"""docs/tutorials/debugging.rst, run: the configs of examples/debugging check as the
page says, and the workflow fails, reports and logs as the page says."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from plait.cli.main import main
from plait.config.check import check_config
from plait.config.config import read_config_file

EXAMPLE = Path(__file__).parents[1] / "examples" / "debugging"


def check(path: Path) -> tuple[int, list[tuple[str, str]]]:
    result = CliRunner().invoke(main, ["config", "check", "--json", str(path)])
    problems = json.loads(result.output)["problems"]
    return result.exit_code, [(p["code"], p["path"]) for p in problems]


def test_the_laptop_config_is_valid() -> None:
    assert check(EXAMPLE / "laptop.toml") == (0, [])


def test_the_cluster_config_is_valid_on_a_slurm_host() -> None:
    if shutil.which("sbatch") is None:
        pytest.skip("needs Slurm's commands on PATH (tests/infra/slurm.sh installs them)")
    assert check(EXAMPLE / "cluster.toml") == (0, [])


def test_the_broken_config_shows_its_mistakes_then_the_cross_check() -> None:
    assert check(EXAMPLE / "broken.toml") == (
        1,
        [
            ("PLT-115", "retires"),
            ("PLT-110", "executors[0].provider.walltime"),
            ("PLT-115", "executors[0].provider.max_block"),
        ],
    )
    data = read_config_file(EXAMPLE / "broken.toml")
    data["retries"] = data.pop("retires")
    provider = data["executors"][0]["provider"]
    provider["walltime"] = "01:00:00"
    provider["max_blocks"] = provider.pop("max_block")
    problems = [(p.error.code, p.path) for p in check_config(data).problems]
    assert ("PLT-116", "executors[0].max_workers_per_node") in problems


def test_the_workflow_fails_reports_and_logs_as_shown(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            str(EXAMPLE / "workflow.py"),
            str(EXAMPLE / "laptop.toml"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[:4] == [
        "sum of the good ones: 1.75",
        "failed: ValueError sample s-0 has no signal",
        "remote traceback: True True",
        "dependency: PLT-200 task 3 (normalise) -> task 5 (total)",
    ]
    logs_of_3 = out[out.index("logs of task 3:") + 1]
    host = socket.gethostname()
    assert logs_of_3.endswith(f"INFO task 3 attempt 1 host {host}: normalising s-0")
    assert out[-1] == "task logs: ['0.log', '1.log', '2.log', '3.log']"
    assert "plait: task 3 (normalise) failed after 1 attempt on 'laptop'" in done.stderr
    summary = done.stderr.split("plait: 2 tasks failed in this run\n", 1)[1]
    assert "1 x PLT-200 dependency failed" in summary and "1 x ValueError" in summary
    [line] = (tmp_path / "errors.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert (record["task_id"], record["type"]) == (3, "builtins.ValueError")
    assert "in normalise" in record["traceback"]
    task_log = (tmp_path / "runinfo" / "000" / "tasks" / "3.log").read_text()
    assert "normalising s-0" in task_log
