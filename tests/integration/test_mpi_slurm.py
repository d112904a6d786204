"""MPI apps under the real single-node Slurm (``tests/infra/slurm.sh``): plait-htex in
MPI mode with ``slurm`` blocks, ranks started by ``srun-mpi`` (Slurm's PMI-2, MPICH's
mpi4py wheel). Integration tier: run with ``--plait-integration``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import bash_app, mpi_app
from plait.errors import MpiRankError

pytestmark = [
    pytest.mark.plait_integration,
    pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning"),
]

TIMEOUT = 180.0


@mpi_app
def ranks_and_job(*, comm: Any) -> tuple[int, list[int], str]:
    """Rank 0's view: the size, every rank's number and the Slurm job of each rank."""
    return comm.Get_size(), comm.gather(comm.Get_rank()), os.environ.get("SLURM_JOB_ID", "")


@mpi_app
def fails_on_last_rank(*, comm: Any) -> int:
    if comm.Get_rank() == comm.Get_size() - 1:
        raise RuntimeError("the last rank gives up")
    comm.Barrier()
    return 0


@bash_app
def srun_command(out: str, resource_specification: Any = None) -> str:
    return f"$PLAIT_MPI_PREFIX bash -c 'echo \"$SLURM_PROCID $SLURM_NTASKS\"' > {out}"


@pytest.fixture
def mpi_on_slurm(tmp_path: Path, slurm: Any) -> Iterator[plait.DataFlowKernel]:
    from plait_htex import HighThroughputExecutor
    from plait_slurm import SlurmProvider

    provider = SlurmProvider(
        partition=slurm.partition,
        launcher="simple",
        exclusive=False,
        cores_per_node=4,
        status_polling_interval=1,
    )
    executor = HighThroughputExecutor(
        label="mpi", provider=provider, mpi_launcher="srun-mpi", heartbeat_period=1
    )
    config = plait.Config(executors=[executor], run_dir=str(tmp_path), error_reporters=[])
    with plait.load(config) as dfk:
        yield dfk


def test_mpi_app_ranks_start_through_srun_in_the_block(mpi_on_slurm: Any) -> None:
    futures = {n: ranks_and_job(resource_specification={"num_ranks": n}) for n in (1, 2, 4)}
    for n, future in futures.items():
        size, ranks, job = future.result(TIMEOUT)
        assert (size, ranks) == (n, list(range(n)))
        assert job, "the ranks did not run inside the block's Slurm job"


def test_bash_app_prefix_is_an_srun_step(mpi_on_slurm: Any, tmp_path: Path) -> None:
    out = tmp_path / "steps"
    assert srun_command(str(out), resource_specification={"num_ranks": 3}).result(TIMEOUT) == 0
    lines = sorted(out.read_text().splitlines())
    assert lines == ["0 3", "1 3", "2 3"]


def test_a_failing_rank_under_srun_is_reported(mpi_on_slurm: Any) -> None:
    error = fails_on_last_rank(resource_specification={"num_ranks": 3}).exception(TIMEOUT)
    assert isinstance(error, MpiRankError)
    assert "rank 2: RuntimeError: the last rank gives up" in error.message
