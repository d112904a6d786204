"""From a provider's options to the PSI/J ``JobSpec`` of one block.

=====================  ============================================================
plait                  PSI/J
=====================  ============================================================
``job_name``           ``JobSpec.name`` and the custom attribute ``slurm.job-name``
                       (``pbs.N``, ``lsf.J``, ``cobalt.jobname``), sanitised
block script, guard    ``JobSpec.executable`` ``bash`` with ``arguments``
                       ``[guard, script, walltime seconds, timeout marker]``
stdout/stderr files    ``JobSpec.stdout_path`` / ``stderr_path``
``psij_launcher``      ``JobSpec.launcher`` (``single`` when a plait launcher is set)
``nodes_per_block``    ``ResourceSpecV1.node_count``
``tasks_per_node``     ``ResourceSpecV1.process_count`` = nodes x tasks per node
``cores_per_node``     ``cpu_cores_per_process`` = ceil(cores / tasks per node)
``gpus``               ``gpu_cores_per_process`` = ceil(gpus / tasks per node)
``mem_per_node``       ``memory`` = ceil(GB x 1024) MiB, in bytes (Slurm: ``--mem``)
``exclusive``          ``exclusive_node_use``
``walltime``           ``JobAttributes.duration``
``partition``          ``JobAttributes.queue_name``
``account``            ``JobAttributes.account``
``qos``, ``constraint``  custom attributes ``slurm.qos``, ``slurm.constraint``
``scheduler_options``  further custom attributes, as given
=====================  ============================================================
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from plait.providers import BlockPaths, safe_name
from plait_psij.options import CUSTOM_ATTRIBUTES, JOB_NAME_ATTRIBUTES, NO_ALLOCATION

if TYPE_CHECKING:
    from psij import JobAttributes, JobSpec, ResourceSpecV1


@attrs.frozen(kw_only=True)
class BlockRequest:
    """What one block asks PSI/J for (the provider's options and ``submit``'s
    arguments)."""

    executor: str
    job_name: str
    tasks_per_node: int
    nodes_per_block: int
    walltime: float
    psij_launcher: str
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    exclusive: bool = False
    cores_per_node: int | None = None
    mem_per_node: float | None = None
    gpus: int | None = None
    scheduler_options: dict[str, Any] = attrs.field(factory=dict)


def resources(request: BlockRequest) -> ResourceSpecV1:
    """The block's ``ResourceSpecV1``."""
    import psij

    tasks = request.tasks_per_node
    if request.executor in NO_ALLOCATION:
        copies = 1 if request.psij_launcher == "single" else tasks * request.nodes_per_block
        return psij.ResourceSpecV1(process_count=copies)
    memory = None
    if request.mem_per_node is not None:
        memory = math.ceil(request.mem_per_node * 1024) * 1024 * 1024
    return psij.ResourceSpecV1(
        node_count=request.nodes_per_block,
        process_count=request.nodes_per_block * tasks,
        cpu_cores_per_process=_per_task(request.cores_per_node, tasks),
        gpu_cores_per_process=_per_task(request.gpus, tasks),
        exclusive_node_use=request.exclusive,
        memory=memory,
    )


def _per_task(per_node: int | None, tasks: int) -> int | None:
    return None if per_node is None else math.ceil(per_node / tasks)


def attributes(request: BlockRequest) -> JobAttributes:
    """The block's ``JobAttributes``."""
    import psij

    custom: dict[str, object] = {}
    name_attribute = JOB_NAME_ATTRIBUTES.get(request.executor)
    if name_attribute is not None:
        custom[name_attribute] = safe_name(request.job_name)
    for option, name in CUSTOM_ATTRIBUTES.get(request.executor, {}).items():
        value = getattr(request, option)
        if value is not None:
            custom[name] = value
    custom.update(request.scheduler_options)
    return psij.JobAttributes(
        duration=timedelta(seconds=math.ceil(request.walltime)),
        queue_name=request.partition,
        account=request.account,
        custom_attributes=custom or None,
    )


def job_spec(request: BlockRequest, guard: Path, paths: BlockPaths, marker: Path) -> JobSpec:
    """The ``JobSpec`` that runs block script ``paths.script`` under ``guard``."""
    import psij

    return psij.JobSpec(
        name=safe_name(request.job_name),
        executable="bash",
        arguments=[str(guard), str(paths.script), str(math.ceil(request.walltime)), str(marker)],
        stdout_path=paths.stdout,
        stderr_path=paths.stderr,
        resources=resources(request),
        attributes=attributes(request),
        launcher=request.psij_launcher,
    )
