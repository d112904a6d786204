"""Types shared between the kernel and every component kind."""

from __future__ import annotations

import enum
import shlex
from collections.abc import Mapping
from typing import Any

import attrs

from plait.errors import ResourceSpecificationError, did_you_mean
from plait.validators import int_at_least, shell_words


def parse_walltime(value: float | int | str | None) -> float | None:
    """Turn ``"HH:MM:SS"``, ``"MM:SS"`` or a number of seconds into seconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        parts = value.strip().split(":")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if not 1 <= len(numbers) <= 3 or len(numbers) != len(parts):
            raise ResourceSpecificationError(
                f"walltime {value!r} is not a number of seconds or HH:MM:SS",
                hint="write walltime as seconds (90) or as 'HH:MM:SS' ('00:01:30')",
            )
        seconds = 0.0
        for n in numbers:
            seconds = seconds * 60 + n
    else:
        raise ResourceSpecificationError(f"walltime {value!r} has type {type(value).__name__}")
    if seconds <= 0:
        raise ResourceSpecificationError(f"walltime must be positive, got {value!r}")
    return seconds


_count = int_at_least(0, error=ResourceSpecificationError, optional=True)
_positive = int_at_least(1, error=ResourceSpecificationError, optional=True)
_options = shell_words(optional=True, error=ResourceSpecificationError)


@attrs.frozen
class MpiRequest:
    """An MPI task's resolved layout (:meth:`plait.interfaces.ResourceSpecification.mpi`)."""

    num_nodes: int
    ranks_per_node: int
    num_ranks: int
    launcher_options: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ResourceSpecification:
    """What one task asks of the executor that runs it.

    The common keys are understood by every executor that declares the
    ``resource_spec`` capability; executor-specific keys go under ``extra``, namespaced
    by the component kind, e.g. ``extra={"slurm": {"constraint": "knl"}}``.
    ``memory`` is in MB, ``walltime`` in seconds (``"HH:MM:SS"`` is accepted).
    ``num_nodes``, ``ranks_per_node``, ``num_ranks`` and ``launcher_options`` (extra
    options for the MPI launcher, as one line) make the task an MPI task
    (:meth:`~plait.interfaces.ResourceSpecification.mpi`).
    """

    cores: int | None = attrs.field(default=None, validator=_count)
    memory: int | None = attrs.field(default=None, validator=_count)
    gpus: int | None = attrs.field(default=None, validator=_count)
    walltime: float | None = attrs.field(default=None, converter=parse_walltime)
    priority: int | None = attrs.field(default=None)
    num_nodes: int | None = attrs.field(default=None, validator=_positive)
    ranks_per_node: int | None = attrs.field(default=None, validator=_positive)
    num_ranks: int | None = attrs.field(default=None, validator=_positive)
    launcher_options: str | None = attrs.field(default=None, validator=_options)
    extra: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.mpi()  # an impossible rank layout is an error where the spec is written

    @classmethod
    def of(cls, value: Any) -> ResourceSpecification:
        """``value`` as a spec: a spec as it is, a dict through :meth:`from_dict`."""
        if isinstance(value, ResourceSpecification):
            return value
        if isinstance(value, Mapping):
            return cls.from_dict(value)
        raise ResourceSpecificationError(
            f"resource_specification={value!r} is a {type(value).__name__}, not a dict "
            "(table) or a ResourceSpecification",
            hint="write resource_specification = {num_nodes = 2, ranks_per_node = 16}",
            option="resource_specification",
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResourceSpecification:
        """Build from a Parsl-style dict, rejecting unknown keys with a suggestion."""
        known = {a.name for a in attrs.fields(cls)}
        for key in data:
            if key not in known:
                suggestion = did_you_mean(key, sorted(known))
                raise ResourceSpecificationError(
                    f"unknown resource specification key {key!r}{suggestion}"
                )
        return cls(**data)

    def mpi(self) -> MpiRequest | None:
        """The MPI layout this spec asks for, with the missing numbers filled in, or None
        when it names none of the MPI keys.

        ``num_nodes`` defaults to the nodes ``num_ranks`` needs at ``ranks_per_node``
        (else 1), ``ranks_per_node`` to ``num_ranks`` spread evenly over the nodes (else
        1), ``num_ranks`` to ``num_nodes * ranks_per_node``. Every node gets at least one
        rank, so ``num_ranks`` lies between ``(num_nodes - 1) * ranks_per_node + 1`` and
        ``num_nodes * ranks_per_node``.
        """
        nodes, per_node, ranks = self.num_nodes, self.ranks_per_node, self.num_ranks
        if nodes is None and per_node is None and ranks is None:
            return None if self.launcher_options is None else MpiRequest(1, 1, 1, self.options())
        if nodes is None:
            nodes = -(-ranks // per_node) if ranks is not None and per_node is not None else 1
        if per_node is None:
            per_node = -(-ranks // nodes) if ranks is not None else 1
        if ranks is None:
            ranks = nodes * per_node
        if not (nodes - 1) * per_node < ranks <= nodes * per_node:
            raise ResourceSpecificationError(
                f"num_ranks={ranks} does not fit num_nodes={nodes} x ranks_per_node={per_node}",
                hint="give num_ranks between (num_nodes - 1) * ranks_per_node + 1 and "
                "num_nodes * ranks_per_node, or give only two of the three",
            )
        return MpiRequest(nodes, per_node, ranks, self.options())

    def options(self) -> tuple[str, ...]:
        """``launcher_options`` split into words, as a shell would."""
        return tuple(shlex.split(self.launcher_options or ""))

    def is_empty(self) -> bool:
        """True when nothing at all is requested."""
        return self == EMPTY_RESOURCES


EMPTY_RESOURCES = ResourceSpecification()


@attrs.frozen
class TaskDescription:
    """What an executor is told about a task besides its function and arguments.

    ``serializers`` is the app's own serializer list (``@python_app(serializers=...)``:
    names, tables or instances), empty when the app uses the executor's.
    """

    task_id: int
    name: str
    attempt: int = 0
    resources: ResourceSpecification = EMPTY_RESOURCES
    serializers: tuple[Any, ...] = ()


def _slot_count(instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"Capacity.{attribute.name} must be an int >= 0, got {value!r}")


@attrs.frozen
class Capacity:
    """How many tasks an executor can run at once, as :meth:`Executor.capacity
    <plait.interfaces.Executor.capacity>` reports it (EXE-008).

    ``slots`` is the tasks it runs at once now (threads, connected workers), whether or
    not they are busy: the kernel subtracts the tasks it has handed over itself.
    ``possible`` is the slots the executor may still add on its own, blocks pending in
    the scheduler and blocks its provider's ``max_blocks`` still allows (0 for an
    executor that does not scale).
    """

    slots: int = attrs.field(validator=_slot_count)
    possible: int = attrs.field(default=0, validator=_slot_count)


class JobState(enum.Enum):
    """The state of a block (a batch job) as every provider reports it."""

    PENDING = "pending"
    RUNNING = "running"
    HELD = "held"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    TIMEOUT = "timeout"
    MISSING = "missing"
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        """True when the job will not change state any more."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {JobState.COMPLETED, JobState.CANCELLED, JobState.FAILED, JobState.TIMEOUT, JobState.MISSING}
)


@attrs.frozen
class JobStatus:
    """A provider's report on one job."""

    state: JobState
    message: str | None = None
    exit_code: int | None = None
    stdout_path: str | None = None
    stderr_path: str | None = None
