"""plait's resource specification as Globus Compute's ``resource_specification``.

Globus Compute engines take per-task resources only for MPI: ``GlobusMPIEngine``
accepts ``num_nodes``, ``ranks_per_node``, ``num_ranks`` and ``launcher_options`` (and
refuses a task without them), the other engines accept none (``GlobusComputeEngine``
only ``priority``). So an MPI task's layout maps to those four keys, every task sent to
an MPI endpoint (``mpi = true``) without a layout runs as one rank on one node, and
``cores``, ``memory``, ``gpus`` and ``extra`` keys, which no engine honours per task,
are refused. ``walltime`` is enforced where the task runs by plait's task wrapper;
``priority`` is a hint this executor ignores.
"""

from __future__ import annotations

from typing import Any

from plait.errors import CapabilityError, ResourceSpecificationError
from plait.interfaces import TaskDescription

ONE_RANK: dict[str, Any] = {"num_nodes": 1, "ranks_per_node": 1, "num_ranks": 1}
"""What a task without an MPI layout asks of an MPI endpoint."""


def resource_specification(
    task: TaskDescription, *, mpi_endpoint: bool, label: str
) -> dict[str, Any] | None:
    """The ``resource_specification`` to submit ``task`` with (None for none)."""
    resources = task.resources
    unsupported = [k for k in ("cores", "memory", "gpus") if getattr(resources, k) is not None]
    unsupported += [f"extra[{k!r}]" for k in resources.extra]
    if unsupported:
        raise ResourceSpecificationError(
            f"task {task.task_id} ({task.name}) asks executor {label!r} for "
            f"{', '.join(unsupported)}, which Globus Compute cannot give a single task",
            hint="size the workers in the endpoint's configuration (max_workers_per_node, "
            "cores_per_worker, mem_per_worker, available_accelerators) or through its "
            "user_endpoint_config template, and drop these keys",
        )
    request = resources.mpi()
    if request is None:
        return dict(ONE_RANK) if mpi_endpoint else None
    if not mpi_endpoint:
        raise CapabilityError(
            f"task {task.task_id} ({task.name}) is an MPI task, but executor {label!r} is "
            "not set up for an MPI endpoint",
            hint="set mpi = true on a GlobusComputeExecutor whose endpoint runs GlobusMPIEngine",
            capability="mpi",
        )
    spec: dict[str, Any] = {
        "num_nodes": request.num_nodes,
        "ranks_per_node": request.ranks_per_node,
        "num_ranks": request.num_ranks,
    }
    if resources.launcher_options:
        spec["launcher_options"] = resources.launcher_options
    return spec
