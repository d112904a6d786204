"""Entry point ``slurm``: registers the Slurm provider and the srun launchers."""

from __future__ import annotations

import shutil

from plait import hookimpl
from plait.errors import PlaitError, SchedulerCommandError
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


@hookimpl
def plait_check_component(component: object) -> list[PlaitError] | None:
    """``plait config check``: Slurm's commands must be on ``PATH`` here."""
    if not isinstance(component, SlurmProvider):
        return None
    missing = [name for name in ("sbatch", "squeue", "scancel") if shutil.which(name) is None]
    if not missing:
        return []
    return [
        SchedulerCommandError(
            f"the Slurm provider needs {', '.join(missing)}, not found on PATH",
            hint="run plait on a Slurm submit (login) host, or add Slurm's bin "
            "directory to PATH (module load slurm)",
            command=missing[0],
        )
    ]
