"""Kit variants for components whose backend is an external scheduler.

A Slurm provider can only submit a block where Slurm runs, and an ``srun`` launch line
only runs inside an allocation. These variants check the same requirements as
:class:`~plait.conformance.provider.ProviderConformance` and
:class:`~plait.conformance.launcher.LauncherConformance`, but every test that uses the
backend (submits a block, runs a launch line) is in the ``integration`` tier, which runs
only with ``--plait-integration``; construction and declaration tests stay in the core
and extended tiers::

    class TestSlurmProvider(SchedulerProviderConformance):
        component_class = SlurmProvider
        walltime_seconds = 60.0  # Slurm rounds walltimes up to minutes
        walltime_grace = 90.0
"""

from __future__ import annotations

from plait.conformance._support import promote_backend_tests
from plait.conformance.launcher import LauncherConformance
from plait.conformance.provider import ProviderConformance


class SchedulerProviderConformance(ProviderConformance):
    """The provider kit with its block-submitting tests in the integration tier."""

    block_timeout = 120.0
    poll_interval = 0.5


class SchedulerLauncherConformance(LauncherConformance):
    """The launcher kit with its line-running tests in the integration tier; override
    the ``run_line`` fixture to run lines inside an allocation."""


promote_backend_tests(SchedulerProviderConformance)
promote_backend_tests(SchedulerLauncherConformance)

__all__ = ["SchedulerLauncherConformance", "SchedulerProviderConformance"]
