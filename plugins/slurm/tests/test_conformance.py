"""plait-slurm against the provider and launcher kits; the tests that submit jobs or run
``srun`` lines use the real single-node Slurm of ``tests/infra/slurm.sh`` (integration
tier, ``--plait-integration``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from plait.conformance.launcher import LineRunner
from plait.conformance.scheduler import SchedulerLauncherConformance, SchedulerProviderConformance
from plait_slurm import SlurmProvider, SrunLauncher, SrunMPILauncher

KIT_OPTIONS = {
    "label": "kit",
    "partition": "debug",
    "exclusive": False,
    "cores_per_node": 1,
    "status_polling_interval": 1.0,
}
"""One CPU a block, so that two blocks run at once on the 2-CPU test node."""


class TestSlurmProvider(SchedulerProviderConformance):
    component_class = SlurmProvider
    needs_slurm = True
    walltime_seconds = 60.0  # Slurm rounds time limits up to whole minutes
    walltime_grace = 90.0

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return dict(KIT_OPTIONS)


class TestSlurmProviderSimpleLauncher(SchedulerProviderConformance):
    """With the launcher that runs the command as is, in the batch script itself."""

    component_class = SlurmProvider
    needs_slurm = True
    walltime_seconds = 60.0
    walltime_grace = 90.0

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {**KIT_OPTIONS, "launcher": "simple"}


def in_allocation(
    line: str, *, tasks_per_node: int, nodes_per_block: int, cwd: Path, env: Mapping[str, str]
) -> subprocess.Popen[str]:
    """Run a launch line inside a fresh allocation, as a block's batch script would
    (``--overcommit`` and no ``--ntasks-per-node``: the kit asks for more tasks than
    the node's 2 CPUs, which Slurm refuses as a per-node count)."""
    salloc = shutil.which("salloc") or "salloc"
    return subprocess.Popen(
        [
            salloc,
            "--quiet",
            "--overcommit",
            f"--nodes={nodes_per_block}",
            f"--ntasks={tasks_per_node * nodes_per_block}",
            "bash",
            "-c",
            line,
        ],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


class InAllocation(SchedulerLauncherConformance):
    """The launcher kit with its lines run inside Slurm allocations."""

    needs_slurm = True

    @pytest.fixture
    def run_line(self) -> LineRunner:
        return in_allocation

    @pytest.fixture
    def mpi_hosts(self) -> list[str]:
        """The test Slurm's one node (named as the ``slurm`` fixture names it; the
        core-tier tests use it too, without starting Slurm)."""
        return [socket.gethostname().split(".")[0]]


class TestSrunLauncher(InAllocation):
    component_class = SrunLauncher


class TestSrunMPILauncher(InAllocation):
    component_class = SrunMPILauncher
