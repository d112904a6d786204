"""Entry point ``mpi``: registers the launchers ``mpiexec`` and ``mpirun``."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_mpi.launchers import MpiexecLauncher, MpirunLauncher


@hookimpl
def plait_register_launchers(registry: Registry) -> None:
    registry.add("mpiexec", MpiexecLauncher)
    registry.add("mpirun", MpirunLauncher)
