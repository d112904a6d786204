"""Entry point ``slurm``: registers the Slurm provider and the srun launchers."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_slurm.launchers import SrunLauncher, SrunMPILauncher
from plait_slurm.provider import SlurmProvider


@hookimpl
def plait_register_providers(registry: Registry) -> None:
    registry.add("slurm", SlurmProvider)


@hookimpl
def plait_register_launchers(registry: Registry) -> None:
    registry.add("srun", SrunLauncher)
    registry.add("srun-mpi", SrunMPILauncher)
