"""Entry point ``psij``: registers the PSI/J provider."""

from __future__ import annotations

import shutil

from plait import hookimpl
from plait.errors import PlaitError, SchedulerCommandError
from plait.registry import Registry
from plait_psij.provider import PSIJProvider


@hookimpl
def plait_register_providers(registry: Registry) -> None:
    registry.add("psij", PSIJProvider)


SUBMIT_COMMANDS = {
    "slurm": "sbatch",
    "pbspro": "qsub",
    "pbs": "qsub",
    "lsf": "bsub",
    "flux": "flux",
}
"""The command each batch PSI/J executor submits jobs with."""


@hookimpl
def plait_check_component(component: object) -> list[PlaitError] | None:
    """``plait config check``: the PSI/J executor's submit command must be on ``PATH``."""
    if not isinstance(component, PSIJProvider):
        return None
    command = SUBMIT_COMMANDS.get(component.executor)
    if command is None or shutil.which(command) is not None:
        return []
    return [
        SchedulerCommandError(
            f"PSI/J's {component.executor!r} executor submits with {command}, not found on PATH",
            hint="run plait on a submit (login) host of that scheduler, or add its bin "
            "directory to PATH",
            command=command,
        )
    ]
