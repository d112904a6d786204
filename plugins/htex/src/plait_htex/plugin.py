"""Registers the ``htex`` executor."""

from __future__ import annotations

from plait import hookimpl
from plait.config import Config
from plait.errors import PlaitError
from plait.registry import Registry


@hookimpl
def plait_register_executors(registry: Registry) -> None:
    """Add ``htex``: :class:`plait_htex.executor.HighThroughputExecutor`."""
    from plait_htex.executor import HighThroughputExecutor

    registry.add("htex", HighThroughputExecutor)


@hookimpl
def plait_check_component(component: object, config: Config | None) -> list[PlaitError] | None:
    """``plait config check``: cores, addresses, the worker Python and the MPI requests
    of the configuration's apps (:mod:`plait_htex.checks`)."""
    from plait_htex.checks import check_executor
    from plait_htex.executor import HighThroughputExecutor

    if isinstance(component, HighThroughputExecutor):
        return check_executor(component, config)
    return None
