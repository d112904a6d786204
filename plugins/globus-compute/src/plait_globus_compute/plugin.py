"""Entry point ``globus-compute``: registers the Globus Compute executor."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_globus_compute.executor import GlobusComputeExecutor


@hookimpl
def plait_register_executors(registry: Registry) -> None:
    registry.add("globus-compute", GlobusComputeExecutor)
