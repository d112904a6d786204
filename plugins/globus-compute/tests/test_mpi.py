"""MPI tasks: plait's layout as Globus Compute's resource specification, and MPI apps run
by the endpoint package's GlobusMPIEngine (Parsl's HTEX in MPI mode, MPICH's mpiexec)."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gc_tasks
import pytest

import plait
from plait.apps.execution import TaskCall
from plait.errors import (
    CapabilityError,
    MpiLaunchError,
    ResourceSpecificationError,
    WorkerLostError,
)
from plait.interfaces import ResourceSpecification, TaskDescription
from plait.interfaces.types import MpiRequest
from plait_globus_compute import remote, versions
from plait_globus_compute import testing as harness
from plait_globus_compute.executor import _without_launcher_options
from plait_globus_compute.resources import resource_specification

pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")
TIMEOUT = 120.0


def _task(**resources: Any) -> TaskDescription:
    return TaskDescription(0, "t", 0, ResourceSpecification(**resources))


# --- the mapping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({"num_ranks": 4}, {"num_nodes": 1, "ranks_per_node": 4, "num_ranks": 4}),
        (
            {"num_nodes": 2, "ranks_per_node": 3},
            {"num_nodes": 2, "ranks_per_node": 3, "num_ranks": 6},
        ),
        (
            {"num_nodes": 2, "num_ranks": 3, "launcher_options": "--bind-to core"},
            {
                "num_nodes": 2,
                "ranks_per_node": 2,
                "num_ranks": 3,
                "launcher_options": "--bind-to core",
            },
        ),
        ({"walltime": 60, "priority": 2}, {"num_nodes": 1, "ranks_per_node": 1, "num_ranks": 1}),
    ],
)
def test_mpi_layouts_become_the_mpi_engines_keys(
    resources: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert resource_specification(_task(**resources), mpi_endpoint=True, label="x") == expected


def test_a_task_without_resources_sends_none_to_other_engines() -> None:
    assert resource_specification(_task(walltime=5), mpi_endpoint=False, label="x") is None


@pytest.mark.parametrize("resources", [{"cores": 2}, {"memory": 100}, {"gpus": 1}])
def test_per_task_cores_memory_and_gpus_are_refused(resources: dict[str, Any]) -> None:
    with pytest.raises(ResourceSpecificationError, match=next(iter(resources))):
        resource_specification(_task(**resources), mpi_endpoint=True, label="x")


def test_executor_specific_extra_keys_are_refused() -> None:
    task = TaskDescription(0, "t", 0, ResourceSpecification(extra={"slurm": {"qos": "x"}}))
    with pytest.raises(ResourceSpecificationError, match="extra\\['slurm'\\]"):
        resource_specification(task, mpi_endpoint=False, label="x")


def test_an_mpi_task_needs_an_mpi_endpoint() -> None:
    with pytest.raises(CapabilityError, match="mpi = true"):
        resource_specification(_task(num_ranks=2), mpi_endpoint=False, label="x")


def test_launcher_options_travel_in_the_spec_not_in_the_task() -> None:
    call = TaskCall(func=gc_tasks.mpi_echo, name="m", kind="bash", mpi=MpiRequest(1, 2, 2, ("-l",)))
    stripped = _without_launcher_options(call)
    assert isinstance(stripped, TaskCall) and stripped.mpi == MpiRequest(1, 2, 2, ())
    assert _without_launcher_options(gc_tasks.square) is gc_tasks.square


# --- the worker side, in this process ----------------------------------------------------------


def test_the_engines_prefix_and_nodes_become_the_tasks_placement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("PARSL_MPI_PREFIX", "echo mpiexec -n 2 -hosts n1,n2")
    monkeypatch.setenv("PARSL_MPI_NODELIST", "n1,n2")
    call = TaskCall(
        func=gc_tasks.mpi_echo,
        name="m",
        kind="bash",
        mpi=MpiRequest(2, 1, 2),
        stdout=(str(out), "w"),
    )
    assert remote.run(call, (), {}, versions.here()) == (remote.OK, 0)
    assert out.read_text().splitlines() == [
        "prefix=echo mpiexec -n 2 -hosts n1,n2",
        "mpiexec -n 2 -hosts n1,n2 /bin/echo rank",
    ]


def test_an_mpi_task_without_the_engines_allocation_fails_clearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PARSL_MPI_PREFIX", raising=False)
    call = TaskCall(func=gc_tasks.mpi_echo, name="m", kind="bash", mpi=MpiRequest(1, 1, 1))
    tag, failure = remote.run(call, (), {}, versions.here())
    assert tag == remote.RAISED
    assert isinstance(failure.exc, MpiLaunchError)
    assert "GlobusMPIEngine" in failure.exc.hint


# --- end to end, on a GlobusMPIEngine --------------------------------------------------------


@pytest.fixture(scope="module")
def mpi_endpoint(
    service: harness.FakeComputeService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An endpoint process whose GlobusMPIEngine has one block of this one node (found
    through a PBS node file, as on a PBS cluster); its workers import ``gc_tasks`` as a
    user's module installed there."""
    pytest.importorskip("mpi4py")
    if shutil.which("mpiexec", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("MPICH's mpiexec is not installed next to this Python")
    run_dir = tmp_path_factory.mktemp("mpi-endpoint")
    nodefile = run_dir / "nodefile"
    nodefile.write_text(socket.gethostname() + "\n")
    endpoint = harness.EndpointProcess(
        "GlobusMPIEngine",
        run_dir,
        service.result,
        {
            "mpi_launcher": "mpiexec",
            "max_workers_per_block": 1,
            "encrypted": False,
            "heartbeat_period": 1,  # a dead worker is noticed within a second
            "heartbeat_threshold": 10,
        },
        env={"PBS_NODEFILE": str(nodefile), "PYTHONPATH": str(Path(__file__).parent)},
    )
    yield service.add(endpoint)
    service.remove(endpoint.endpoint_id)
    endpoint.stop()


@pytest.fixture
def mpi_kernel(
    service: harness.FakeComputeService, mpi_endpoint: str, tmp_path: Path
) -> Iterator[plait.DataFlowKernel]:
    table = {
        "kind": "globus-compute",
        "label": "mpi",
        "endpoint_id": mpi_endpoint,
        "client": service.client(),
        "mpi": True,
        "api_burst_limit": 8,
        "api_burst_window_s": 1,
    }
    config = plait.Config(executors=[table], run_dir=str(tmp_path / "run"), error_reporters=[])
    with plait.load(config) as dfk:
        yield dfk


def test_a_bash_mpi_app_starts_its_ranks_with_the_engines_prefix(
    service: harness.FakeComputeService, mpi_kernel: Any, tmp_path: Path
) -> None:
    out = tmp_path / "ranks"
    spec = {"num_ranks": 2, "launcher_options": "-l"}
    app = plait.bash_app(gc_tasks.mpi_echo)
    assert app(stdout=str(out), resource_specification=spec).result(TIMEOUT) == 0
    assert service.submissions[-1]["resource_specification"] == {
        "num_nodes": 1,
        "ranks_per_node": 2,
        "num_ranks": 2,
        "launcher_options": "-l",
    }
    prefix, *ranks = out.read_text().splitlines()
    assert prefix.startswith("prefix=mpiexec -n 2 -ppn 2 -hosts ")
    assert prefix.split().count("-l") == 1, "launcher_options were given twice"
    assert sorted(ranks) == ["[0] rank", "[1] rank"]


def test_an_mpi_app_runs_on_every_rank(mpi_kernel: Any) -> None:
    ranks = plait.mpi_app(gc_tasks.ranks)
    assert ranks(resource_specification={"num_ranks": 2}).result(TIMEOUT) == (2, [0, 1])


def test_other_apps_run_as_one_rank_on_an_mpi_endpoint(mpi_kernel: Any) -> None:
    assert plait.python_app(gc_tasks.square)(9).result(TIMEOUT) == 81


def test_a_worker_that_dies_is_a_lost_worker(mpi_kernel: Any) -> None:
    error = plait.python_app(gc_tasks.die)().exception(TIMEOUT)
    assert isinstance(error, WorkerLostError), error
    assert error.code == "PLT-210"
    assert "Python version" in error.hint
