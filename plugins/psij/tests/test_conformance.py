"""plait-psij against the provider conformance kit: PSI/J's ``local`` executor in every
test run, its ``slurm`` executor against the real Slurm in the integration tier."""

from __future__ import annotations

from typing import Any

import pytest

from plait.conformance.provider import ProviderConformance
from plait.conformance.scheduler import SchedulerProviderConformance
from plait_psij import PSIJProvider


class TestPSIJLocal(ProviderConformance):
    """Blocks as processes of PSI/J's local executor, on this host."""

    component_class = PSIJProvider

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"label": "kit-psij-local", "executor": "local"}


class TestPSIJSlurm(SchedulerProviderConformance):
    """Blocks as Slurm jobs submitted by PSI/J's slurm executor (2 CPUs: two one-core
    blocks run at once, the others queue)."""

    component_class = PSIJProvider
    needs_slurm = True
    walltime_seconds = 60.0  # Slurm rounds walltimes up to minutes
    walltime_grace = 90.0
    many_blocks = 4

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {
            "label": "kit-psij-slurm",
            "executor": "slurm",
            "executor_config": {"queue_polling_interval": 1, "initial_queue_polling_delay": 0.5},
            "partition": "debug",
            "exclusive": False,
            "cores_per_node": 1,
            "walltime": "00:10:00",
            "cmd_timeout": 60.0,
        }
