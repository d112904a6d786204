"""SlurmProvider's options, batch scripts and state reading; the tests marked
``plait_integration`` use the real single-node Slurm of ``tests/infra/slurm.sh``."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from plait.errors import ConfigError, SchedulerCommandError
from plait.interfaces import JobState, JobStatus
from plait_slurm import SlurmProvider, SrunLauncher
from plait_slurm.provider import slurm_time
from plait_slurm.states import STATES, exit_status, job_state


def directives(provider: SlurmProvider, tmp_path: Path, tasks_per_node: int = 1) -> list[str]:
    """The ``#SBATCH`` options of the script ``submit`` would write."""
    provider.script_dir = str(tmp_path)
    _, paths = provider._files.next("my block", suffix=".sbatch")
    text = provider.script("start-workers --x 1", tasks_per_node, "my block", paths)
    return [line.split(" ", 1)[1] for line in text.splitlines() if line.startswith("#SBATCH")]


def test_script_asks_for_what_the_options_say(tmp_path: Path) -> None:
    provider = SlurmProvider(
        partition="compute",
        account="proj1",
        qos="high",
        constraint="haswell&ib",
        nodes_per_block=2,
        cores_per_node=32,
        mem_per_node=1.5,
        gpus=4,
        walltime="01:30:00",
        scheduler_options="#SBATCH --reservation=hack",
        worker_init="module load python",
    )
    found = directives(provider, tmp_path, tasks_per_node=2)
    assert found[:3] == [
        "--job-name=my_block",
        f"--output={tmp_path}/my_block.1.stdout",
        f"--error={tmp_path}/my_block.1.stderr",
    ]
    assert found[3:] == [
        "--nodes=2",
        "--ntasks-per-node=2",
        "--time=0-01:30:00",
        "--partition=compute",
        "--account=proj1",
        "--qos=high",
        "'--constraint=haswell&ib'",
        "--exclusive",
        "--cpus-per-task=16",
        "--mem=1536M",
        "--gpus-per-node=4",
        "--reservation=hack",
    ]


def test_script_runs_worker_init_then_the_launch_line(tmp_path: Path) -> None:
    provider = SlurmProvider(worker_init="source /opt/venv/bin/activate", exclusive=False)
    provider.script_dir = str(tmp_path)
    _, paths = provider._files.next("b", suffix=".sbatch")
    lines = provider.script("echo 'a b'", 1, "b", paths).splitlines()
    body = [line for line in lines if not line.startswith("#")]
    assert body == ["source /opt/venv/bin/activate", SrunLauncher()("echo 'a b'", 1, 1)]
    assert "#SBATCH --exclusive" not in lines


def test_defaults_are_parsl_like() -> None:
    provider = SlurmProvider()
    assert (provider.label, provider.walltime, provider.exclusive) == ("slurm", 600.0, True)
    assert (provider.init_blocks, provider.min_blocks, provider.max_blocks) == (1, 0, 1)
    assert isinstance(provider.launcher, SrunLauncher)


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"walltime": "ten minutes"}, "walltime"),
        ({"walltime": None}, "walltime"),
        ({"partition": "a\n#SBATCH --x"}, "partition"),
        ({"account": ""}, "account"),
        ({"cores_per_node": 0}, "cores_per_node"),
        ({"mem_per_node": -1}, "mem_per_node"),
        ({"gpus": 1.5}, "gpus"),
        ({"exclusive": "yes"}, "exclusive"),
        ({"launcher": "no-such-launcher"}, "launcher"),
        ({"min_blocks": 2, "max_blocks": 1}, "min_blocks"),
    ],
)
def test_bad_options_are_config_errors_naming_the_option(
    options: dict[str, Any], option: str
) -> None:
    with pytest.raises((ConfigError, TypeError)) as info:
        SlurmProvider(**options)
    assert option in str(info.value)


def test_slurm_time_rounds_up_to_seconds() -> None:
    assert slurm_time(59.2) == "0-00:01:00"
    assert slurm_time(90061) == "1-01:01:01"


def test_every_slurm_state_is_mapped() -> None:
    assert job_state("CANCELLED by 0") is JobState.CANCELLED
    assert job_state("TIMEOUT") is JobState.TIMEOUT
    assert job_state("COMPLETING") is JobState.RUNNING
    assert job_state("OUT_OF_MEMORY") is JobState.FAILED
    assert job_state("SOMETHING_NEW") is JobState.UNKNOWN
    terminal = {name for name, state in STATES.items() if state.terminal}
    assert terminal >= {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"}


def test_exit_status_reads_wait_statuses_and_scontrol_pairs() -> None:
    assert exit_status("768") == (3, None)
    assert exit_status("9") == (0, 9)
    assert exit_status("0:15") == (0, 15)
    assert exit_status("2:0") == (2, None)
    assert exit_status("N/A") == (None, None)


def test_missing_sbatch_is_a_scheduler_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    provider = SlurmProvider()
    provider.script_dir = str(tmp_path)
    with pytest.raises(SchedulerCommandError, match="'sbatch' is not on PATH") as info:
        provider.submit("true", 1)
    assert info.value.code == "PLT-217"


def test_unknown_ids_are_missing_without_asking_slurm() -> None:
    statuses = SlurmProvider().status(["1", "abc"])
    assert [s.state for s in statuses] == [JobState.MISSING, JobState.MISSING]


# --- against the real Slurm ------------------------------------------------------------


def wait_terminal(provider: SlurmProvider, job_id: str, timeout: float = 120) -> JobStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (status,) = provider.status([job_id])
        if status.state.terminal:
            return status
        time.sleep(0.2)
    pytest.fail(f"job {job_id} did not end within {timeout} s")


def fast(tmp_path: Path, **options: Any) -> SlurmProvider:
    provider = SlurmProvider(exclusive=False, cores_per_node=1, **options)
    provider.script_dir = str(tmp_path)
    return provider


@pytest.mark.plait_integration
def test_bad_partition_is_refused_with_slurms_message(slurm: Any, tmp_path: Path) -> None:
    provider = fast(tmp_path, partition="no-such-partition")
    with pytest.raises(SchedulerCommandError) as info:
        provider.submit("true", 1)
    assert "invalid partition" in info.value.message.lower()
    assert "sbatch" in info.value.message


@pytest.mark.plait_integration
def test_an_account_the_partition_refuses_fails_the_block_with_slurms_reason(
    slurm: Any, tmp_path: Path
) -> None:
    provider = fast(tmp_path, partition=slurm.account_partition, account="not-allowed")
    job_id = provider.submit("true", 1)
    status = wait_terminal(provider, job_id, timeout=60)
    assert status.state is JobState.FAILED
    assert status.message and f"Slurm will not start job {job_id}" in status.message
    assert "account" in status.message
    queue = subprocess.run(
        ["squeue", "--noheader", "--states=all", f"--jobs={job_id}", "--format=%T"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert queue.stdout.strip() == "CANCELLED", "the provider should cancel such a job"
    allowed = fast(tmp_path, partition=slurm.account_partition, account=slurm.allowed_account)
    assert allowed.account == "plait"


@pytest.mark.plait_integration
def test_a_job_cancelled_outside_plait_says_so_with_its_id(slurm: Any, tmp_path: Path) -> None:
    provider = fast(tmp_path)
    ready = tmp_path / "ready"
    job_id = provider.submit(f"touch {ready}; sleep 300", 1)
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.exists(), "the block never ran"
    subprocess.run(["scancel", job_id], check=True)
    status = wait_terminal(provider, job_id)
    assert status.state is JobState.CANCELLED
    assert status.message and f"Slurm job {job_id}" in status.message
    assert "cancelled outside plait" in status.message


@pytest.mark.plait_integration
def test_exit_status_and_output_files_of_a_failed_block(slurm: Any, tmp_path: Path) -> None:
    provider = fast(tmp_path, launcher="simple")
    job_id = provider.submit("echo out; echo err >&2; exit 7", 1)
    status = wait_terminal(provider, job_id)
    assert (status.state, status.exit_code) == (JobState.FAILED, 7)
    assert status.stdout_path and Path(status.stdout_path).read_text() == "out\n"
    assert status.stderr_path and Path(status.stderr_path).read_text() == "err\n"
    assert Path(status.stdout_path).parent == tmp_path
