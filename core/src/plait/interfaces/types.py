"""Types shared between the kernel and every component kind."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from plait.errors import ResourceSpecificationError, did_you_mean
from plait.validators import int_at_least


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


@attrs.frozen(kw_only=True)
class ResourceSpecification:
    """What one task asks of the executor that runs it.

    The common keys are understood by every executor that declares the
    ``resource_spec`` capability; executor-specific keys go under ``extra``, namespaced
    by the component kind, e.g. ``extra={"slurm": {"constraint": "knl"}}``.
    ``memory`` is in MB, ``walltime`` in seconds (``"HH:MM:SS"`` is accepted).
    """

    cores: int | None = attrs.field(default=None, validator=_count)
    memory: int | None = attrs.field(default=None, validator=_count)
    gpus: int | None = attrs.field(default=None, validator=_count)
    walltime: float | None = attrs.field(default=None, converter=parse_walltime)
    priority: int | None = attrs.field(default=None)
    num_nodes: int | None = attrs.field(default=None, validator=_count)
    ranks_per_node: int | None = attrs.field(default=None, validator=_count)
    num_ranks: int | None = attrs.field(default=None, validator=_count)
    extra: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

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
