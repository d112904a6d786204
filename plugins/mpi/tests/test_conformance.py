"""plait-mpi against the launcher kit, with real MPI ranks: MPICH's Hydra for
``mpiexec`` and Open MPI for ``mpirun`` (both from ``tests/infra/mpi.sh``)."""

from __future__ import annotations

from typing import Any

import pytest

from plait.conformance.launcher import LauncherConformance, LineRunner
from plait_mpi import MpiexecLauncher, MpirunLauncher


class TestMpiexecLauncher(LauncherConformance):
    component_class = MpiexecLauncher

    @pytest.fixture
    def component_kwargs(self, mpich: Any) -> dict[str, Any]:
        return {"executable": mpich.launcher}

    @pytest.fixture
    def run_line(self, mpich: Any) -> LineRunner:
        return mpich.runner()


class TestMpirunLauncher(LauncherConformance):
    component_class = MpirunLauncher

    @pytest.fixture
    def component_kwargs(self, openmpi: Any) -> dict[str, Any]:
        return {"executable": openmpi.launcher}

    @pytest.fixture
    def run_line(self, openmpi: Any) -> LineRunner:
        return openmpi.runner()
