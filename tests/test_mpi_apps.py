"""MPI apps end to end: plait-htex in MPI mode, the plait-mpi launchers, real MPI ranks
(MPICH's Hydra and Open MPI, from ``tests/infra/mpi.sh``) and mpi4py."""

from __future__ import annotations

import os
import shlex
import socket
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

import plait
from plait import bash_app, mpi_app, python_app
from plait.conformance.base import wait_until
from plait.errors import (
    AppTimeout,
    CapabilityError,
    ConfigError,
    MpiLaunchError,
    MpiRankError,
    ResourceSpecificationError,
)
from plait.procfs import pid_alive
from plait_local import LocalProvider

pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")

TIMEOUT = 120.0


@mpi_app
def ranks(tag: str, *, comm: Any) -> tuple[str, int, list[int]]:
    """Rank 0's view of the job: the tag, the size and every rank's number."""
    return tag, comm.Get_size(), comm.gather(comm.Get_rank())


@mpi_app
def fails_on_rank_one(*, comm: Any) -> int:
    if comm.Get_rank() == 1:
        raise ValueError("rank one is unhappy")
    comm.Barrier()
    return 1


@mpi_app
def hangs_on_rank_one(pid_dir: str, *, comm: Any) -> int:
    Path(pid_dir, f"rank-{comm.Get_rank()}").write_text(str(os.getpid()))
    if comm.Get_rank() == 1:
        while True:
            pass
    return 0


@mpi_app
def logs_on_every_rank(fail_rank: int, *, comm: Any) -> int:
    rank = comm.Get_rank()
    plait.app_logger().info("rank %d of %d", rank, comm.Get_size())
    if rank == fail_rank:
        raise ValueError(f"rank {rank} is unhappy")
    comm.Barrier()
    return rank


@bash_app
def mpi_command(out: str, resource_specification: Any = None) -> str:
    """Record the MPI variables, then have each rank write its rank and the size to a
    file of its own under ``out``."""
    probe = (
        "import sys, tempfile; from mpi4py import MPI; c = MPI.COMM_WORLD; "
        "open(tempfile.mkstemp(dir=sys.argv[1])[1], 'w').write(f'{c.Get_rank()} {c.Get_size()}')"
    )
    return (
        f'printf "%s\\n" "$PLAIT_NUM_RANKS" "$PLAIT_MPI_HOSTS" "$PARSL_MPI_PREFIX" > {out}.env; '
        f'$PLAIT_MPI_PREFIX {sys.executable} -c "{probe}" {out}'
    )


@bash_app
def holds_nodes(gate_dir: str, name: str, resource_specification: Any = None) -> str:
    """Say it started and on which hosts, wait for its release, then run its ranks (an MPI
    program: Hydra can die of SIGPIPE when the ranks on several hosts exit before MPI_Init)."""
    gate = Path(gate_dir)
    barrier = shlex.quote("from mpi4py import MPI; MPI.COMM_WORLD.Barrier()")
    return (
        f'echo "$PLAIT_MPI_HOSTS" > {gate / name}.hosts; touch {gate / name}.started; '
        f"for _ in $(seq 600); do [ -e {gate / name}.release ] && break; sleep 0.1; done; "
        f"$PLAIT_MPI_PREFIX {sys.executable} -c {barrier}"
    )


@python_app
def plain(x: int) -> int:
    return x + 1


def load(tmp_path: Path, launcher: dict[str, Any], provider: Any = None) -> plait.DataFlowKernel:
    htex: dict[str, Any] = {"kind": "htex", "label": "mpi", "mpi_launcher": launcher}
    if provider is not None:
        htex["provider"] = provider
    config = plait.Config(executors=[htex], run_dir=str(tmp_path / "runinfo"), error_reporters=[])
    return plait.load(config)


@pytest.fixture(params=["mpiexec", "mpirun"])
def launcher(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each plait-mpi launcher, driving the MPI of its flavor."""
    install = request.getfixturevalue("mpich" if request.param == "mpiexec" else "openmpi")
    return {"kind": request.param, "executable": install.launcher}


def test_mpi_app_runs_on_every_rank_and_returns_rank_zeros_value(
    tmp_path: Path, launcher: dict[str, Any]
) -> None:
    with load(tmp_path, launcher):
        futures = {
            n: ranks(f"job{n}", resource_specification={"num_ranks": n}) for n in (1, 2, 3, 4)
        }
        for n, future in futures.items():
            assert future.result(TIMEOUT) == (f"job{n}", n, list(range(n)))


def test_bash_app_gets_the_prefix_rank_count_and_hosts(
    tmp_path: Path, launcher: dict[str, Any]
) -> None:
    out = tmp_path / "ranks"
    out.mkdir()
    with load(tmp_path, launcher):
        assert mpi_command(str(out), resource_specification={"num_ranks": 3}).result(TIMEOUT) == 0
    pairs = sorted(tuple(map(int, path.read_text().split())) for path in out.iterdir())
    assert pairs == [(0, 3), (1, 3), (2, 3)]
    count, hosts, prefix = Path(f"{out}.env").read_text().splitlines()
    assert (count, hosts) == ("3", socket.gethostname())
    assert prefix.split()[0] == launcher["executable"]


def test_a_failing_rank_names_the_rank_and_its_traceback(
    tmp_path: Path, launcher: dict[str, Any]
) -> None:
    with load(tmp_path, launcher):
        error = fails_on_rank_one(resource_specification={"num_ranks": 3}).exception(TIMEOUT)
    assert isinstance(error, MpiRankError)
    assert "rank 1: ValueError: rank one is unhappy" in error.message
    trace = error.details["rank_tracebacks"][1]
    assert "in fails_on_rank_one" in trace and trace.endswith("ValueError: rank one is unhappy\n")
    assert 1 in error.details["failed_ranks"]


def test_every_rank_logs_to_the_task(tmp_path: Path, launcher: dict[str, Any]) -> None:
    """Each rank's app log records come back, naming the rank; a failing rank's too."""
    with load(tmp_path, launcher) as dfk:
        ok = logs_on_every_rank(-1, resource_specification={"num_ranks": 3})
        failed = logs_on_every_rank(1, resource_specification={"num_ranks": 3})
        assert ok.result(TIMEOUT) == 0
        assert isinstance(failed.exception(TIMEOUT), MpiRankError)
        run_dir = dfk.run_dir
    host = socket.gethostname()
    tails = sorted(line.split(" host ", 1)[1] for line in ok.logs())
    assert tails == [f"{host} rank {r}: rank {r} of 3" for r in range(3)]
    assert all(f" task {ok.tid} attempt 1 host " in line for line in ok.logs())
    assert (run_dir / "tasks" / f"{ok.tid}.log").read_text().splitlines() == ok.logs()
    # the failing rank leaves its records; the others may be ended before they do
    assert any(line.endswith(f"host {host} rank 1: rank 1 of 3") for line in failed.logs())


def test_a_hanging_rank_is_killed_at_the_walltime(tmp_path: Path, launcher: dict[str, Any]) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    with load(tmp_path, launcher):
        future = hangs_on_rank_one(
            str(pid_dir), walltime=5, resource_specification={"num_ranks": 2}
        )
        error = future.exception(TIMEOUT)
    assert isinstance(error, AppTimeout)
    assert "MPI app 'hangs_on_rank_one'" in error.message
    pid = int((pid_dir / "rank-1").read_text())
    assert wait_until(lambda: not pid_alive(pid), 10.0), f"the hanging rank {pid} still runs"


def test_a_missing_mpi_installation_fails_the_task_with_the_executable(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-mpi" / "mpiexec")
    with load(tmp_path, {"kind": "mpiexec", "executable": missing}):
        error = ranks("x", resource_specification={"num_ranks": 2}).exception(TIMEOUT)
        assert plain(1).result(TIMEOUT) == 2  # the executor still runs other tasks
    assert isinstance(error, MpiLaunchError)
    assert missing in error.message


def test_a_request_larger_than_the_block_fails_at_submit(tmp_path: Path, mpich: Any) -> None:
    with load(tmp_path, {"kind": "mpiexec", "executable": mpich.launcher}):
        error = ranks("big", resource_specification={"num_nodes": 2}).exception(TIMEOUT)
        assert ranks("fits", resource_specification={"num_ranks": 2}).result(TIMEOUT)[1] == 2
    assert isinstance(error, ResourceSpecificationError)
    assert "num_nodes=2" in error.message and "nodes_per_block" in error.message


@attrs.define(eq=False)
class ThreeNodeProvider(LocalProvider):
    """Local blocks that claim three nodes: ``localhost``, ``127.0.0.1`` and this host's
    name, listed in a PBS node file. All three are this machine, which MPICH's Hydra
    starts ranks on without ssh, so that node sharing is tested on one host."""

    nodes_per_block: int = 3


def test_mpi_tasks_share_a_blocks_nodes_and_wait_for_free_ones(tmp_path: Path, mpich: Any) -> None:
    nodefile = tmp_path / "nodes"
    nodefile.write_text(f"localhost\n127.0.0.1\n{socket.gethostname()}\n")
    provider = ThreeNodeProvider(launcher="simple", worker_init=f"export PBS_NODEFILE={nodefile}")
    gate = tmp_path / "gate"
    gate.mkdir()
    with load(tmp_path, {"kind": "mpiexec", "executable": mpich.launcher}, provider):
        two = {"num_nodes": 2, "ranks_per_node": 1}
        first = holds_nodes(str(gate), "first", resource_specification=two)
        assert wait_until((gate / "first.started").exists, TIMEOUT)
        second = holds_nodes(str(gate), "second", resource_specification=two)
        small = holds_nodes(str(gate), "small", resource_specification={"num_nodes": 1})
        assert wait_until((gate / "small.started").exists, TIMEOUT), "the free node stayed idle"
        # two nodes are busy until "first" is released: "second" cannot have started
        assert not (gate / "second.started").exists()
        (gate / "small.release").touch()
        (gate / "first.release").touch()
        assert wait_until((gate / "second.started").exists, TIMEOUT)
        (gate / "second.release").touch()
        assert [f.result(TIMEOUT) for f in (first, second, small)] == [0, 0, 0]
    hosts = {name: (gate / f"{name}.hosts").read_text().split()[0].split(",") for name in
             ("first", "second", "small")}  # fmt: skip
    assert len(set(hosts["first"])) == 2 and len(set(hosts["second"])) == 2
    assert not set(hosts["small"]) & set(hosts["first"]), "two tasks got the same node"


def test_mpi_mode_needs_an_mpi_launcher_and_one_manager_per_block() -> None:
    with pytest.raises(ConfigError, match="no 'mpi' capability"):
        plait.Config(executors=[{"kind": "htex", "mpi_launcher": "simple"}])
    with pytest.raises(ConfigError, match="one manager per block"):
        plait.Config(
            executors=[
                {
                    "kind": "htex",
                    "mpi_launcher": "mpiexec",
                    "provider": ThreeNodeProvider(launcher="single-node"),
                }
            ]
        )


def test_mpi_apps_need_an_executor_in_mpi_mode(tmp_path: Path) -> None:
    config = plait.Config(executors=[{"kind": "htex"}], run_dir=str(tmp_path), error_reporters=[])
    with plait.load(config), pytest.raises(CapabilityError, match="mpi_launcher"):
        ranks("x")
