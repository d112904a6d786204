"""Registers the ``htex`` executor."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry


@hookimpl
def plait_register_executors(registry: Registry) -> None:
    """Add ``htex``: :class:`plait_htex.executor.HighThroughputExecutor`."""
    from plait_htex.executor import HighThroughputExecutor

    registry.add("htex", HighThroughputExecutor)
