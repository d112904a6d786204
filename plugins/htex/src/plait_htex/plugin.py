"""Registers the ``htex`` executor."""

from __future__ import annotations

from plait import hookimpl
from plait.errors import PlaitError
from plait.registry import Registry


@hookimpl
def plait_register_executors(registry: Registry) -> None:
    """Add ``htex``: :class:`plait_htex.executor.HighThroughputExecutor`."""
    from plait_htex.executor import HighThroughputExecutor

    registry.add("htex", HighThroughputExecutor)


@hookimpl
def plait_check_component(component: object) -> list[PlaitError] | None:
    """``plait config check``: cores, addresses and the worker Python
    (:mod:`plait_htex.checks`)."""
    from plait_htex.checks import check_executor
    from plait_htex.executor import HighThroughputExecutor

    if isinstance(component, HighThroughputExecutor):
        return check_executor(component)
    return None
