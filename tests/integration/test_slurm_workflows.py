"""Whole workflows on plait-htex whose blocks are jobs of the real single-node Slurm
(``tests/infra/slurm.sh``), through each Slurm-capable provider: ``slurm`` (sbatch) and
``psij`` (PSI/J's Slurm executor). Integration tier: run with ``--plait-integration``."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.plait_integration

ProviderFactory = Callable[..., Any]


def slurm_provider(**options: Any) -> Any:
    from plait_slurm import SlurmProvider

    return SlurmProvider(exclusive=False, cores_per_node=1, status_polling_interval=1, **options)


def psij_provider(**options: Any) -> Any:
    plait_psij = pytest.importorskip("plait_psij")
    return plait_psij.PSIJProvider(
        executor="slurm",
        executor_config={"queue_polling_interval": 1, "initial_queue_polling_delay": 0.5},
        exclusive=False,
        cores_per_node=1,
        status_polling_interval=1,
        **options,
    )


@pytest.fixture(params=[slurm_provider, psij_provider], ids=["slurm", "psij"])
def provider(request: pytest.FixtureRequest, slurm: Any) -> ProviderFactory:
    """Makes a provider of the kind under test for the test Slurm's default partition."""
    factory: ProviderFactory = request.param
    return lambda **options: factory(partition=slurm.partition, **options)


@pytest.fixture
def run_in(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Loads a config whose one executor is htex over the given provider."""
    import plait
    from plait_htex import HighThroughputExecutor

    loaded: list[Any] = []

    def load(provider: Any, **config: Any) -> Any:
        executor = HighThroughputExecutor(
            label="cluster", provider=provider, max_workers_per_node=2, heartbeat_period=1
        )
        options = {"strategy_period": 0.5, **config}
        dfk = plait.load(plait.Config(executors=[executor], run_dir=str(tmp_path), **options))
        loaded.append(dfk)
        return dfk

    yield load
    if loaded:
        plait.clear()


def job_of_this_block() -> str:
    return os.environ.get("SLURM_JOB_ID", "")


def double(x: int) -> int:
    return 2 * x


def log_and_sleep(i: int, logs: str, seconds: float) -> tuple[int, str]:
    """Record the Slurm job this attempt runs in, then work for ``seconds``."""
    job = os.environ.get("SLURM_JOB_ID", "?")
    with open(os.path.join(logs, f"{i}.log"), "a") as log:
        log.write(job + "\n")
    time.sleep(seconds)
    return i, job


def announce_and_wait(marker: str) -> None:
    with open(marker, "w") as out:
        out.write(os.environ.get("SLURM_JOB_ID", "?"))
    time.sleep(600)


def wait_for(path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.1)
    pytest.fail(f"{path.name} did not appear within {timeout} s")


def test_a_thousand_tasks_run_in_slurm_blocks(
    provider: ProviderFactory, run_in: Callable[..., Any]
) -> None:
    import plait

    run_in(provider(walltime="00:10:00"))
    job = plait.python_app(job_of_this_block)().result(timeout=120)
    assert job.isdigit(), f"the workers do not run in a Slurm job (SLURM_JOB_ID={job!r})"
    app = plait.python_app(double)
    futures = [app(i) for i in range(1000)]
    assert [f.result(timeout=300) for f in futures] == [2 * i for i in range(1000)]


def test_a_block_killed_at_its_walltime_is_replaced_and_its_tasks_retried(
    provider: ProviderFactory, run_in: Callable[..., Any], tmp_path: Path
) -> None:
    import plait

    logs = tmp_path / "logs"
    logs.mkdir()
    # 30 tasks of 8 s on 2 workers need 120 s; Slurm ends a block whose 60 s are up at
    # its next time-limit check (every 30 s) plus KillWait (5 s), so by about 95 s
    run_in(provider(walltime=60, max_blocks=1), retries=2)
    app = plait.python_app(log_and_sleep)
    futures = [app(i, str(logs), 8.0) for i in range(30)]
    results = [f.result(timeout=600) for f in futures]
    assert [i for i, _ in results] == list(range(30))
    jobs = {job for _, job in results}
    assert len(jobs) >= 2, f"every task finished in job(s) {jobs}: no block was replaced"
    retried = [p for p in logs.iterdir() if len(set(p.read_text().split())) > 1]
    assert retried, "no task ran again in the replacement block"
    first = min(jobs, key=int)
    state = subprocess.run(
        ["squeue", "--noheader", "--states=all", f"--jobs={first}", "--format=%T"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert state == "TIMEOUT", f"job {first} ended {state}, not at its walltime"


def test_a_block_cancelled_outside_plait_fails_its_task_naming_the_job(
    provider: ProviderFactory, run_in: Callable[..., Any], tmp_path: Path
) -> None:
    import plait
    from plait.errors import ExecutorFailureError

    run_in(provider(walltime="00:10:00", max_blocks=1))
    marker = tmp_path / "running"
    future = plait.python_app(announce_and_wait)(str(marker))
    job_id = wait_for(marker, 120)
    subprocess.run(["scancel", job_id], check=True)
    error = future.exception(timeout=120)
    # the block's end (PLT-212) or, when its manager's silence is noticed before Slurm
    # reports the job ended, the lost manager (PLT-211): either names the job
    assert isinstance(error, ExecutorFailureError), f"{type(error).__name__}: {error}"
    assert error.code in ("PLT-211", "PLT-212"), str(error)
    assert f"job {job_id}" in str(error), f"the error does not name job {job_id}: {error}"
