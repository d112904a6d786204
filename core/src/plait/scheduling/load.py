"""What the ``least-loaded`` policy knows about each executor, kept by the dispatcher.

:class:`LoadTracker` counts the tasks the kernel has handed each executor and not seen
finish (its *outstanding* tasks), keeps an exponentially weighted mean of observed task
durations per executor and app, and caches each executor's
:meth:`~plait.interfaces.Executor.capacity` for
:data:`~plait.scheduling.load.CAPACITY_TTL` seconds.
:class:`DataLocations` maps executor labels to the path and URL prefixes of the data
they hold (``Config.data_locations``).

Everything here runs on the dispatcher thread only, without locks.

A duration is observed as the time from handing a task over to its completion divided
by the queue factor at hand-over, ``max(1, (outstanding + 1) / slots)``: a task that
waited behind others in the executor's queue is not mistaken for a slow one. For an
executor of unknown capacity (counted as one slot) the quotient is its time per task
at the observed throughput, which is what the estimate multiplies again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from plait.data.files import File
from plait.interfaces import Capacity, Executor

logger = logging.getLogger(__name__)

CAPACITY_TTL = 0.5
"""Seconds an executor's reported capacity is reused before it is asked again."""

DURATION_WEIGHT = 0.3
"""Weight of the newest observation in the running mean of task durations."""

UNKNOWN_SLOTS = 1
"""Slots assumed for an executor whose ``capacity()`` returns None."""


class ExecutorStats:
    """The load of one executor: outstanding tasks, durations, cached capacity."""

    __slots__ = ("capacity", "checked", "durations", "executor", "label", "outstanding")

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.label = executor.label
        self.outstanding = 0
        """Tasks handed to the executor whose futures have not completed."""
        self.durations: dict[str, float] = {}
        """Mean observed task duration on this executor, per app name (seconds)."""
        self.capacity: Capacity | None = None
        self.checked = -math.inf
        """When ``capacity`` was last asked (the tracker's clock)."""

    def __repr__(self) -> str:
        return (
            f"ExecutorStats({self.label!r}, outstanding={self.outstanding}, "
            f"durations={self.durations}, capacity={self.capacity})"
        )


def _mean(old: float | None, sample: float) -> float:
    return sample if old is None else old + DURATION_WEIGHT * (sample - old)


class DataLocations:
    """Which executors hold a file: ``{"cluster": ["/scratch/", "globus://abcd/"]}``.

    A :class:`~plait.File` is at an executor when its URL (``globus://abcd/x.h5``), or
    the path of a local file (``/scratch/x.h5``, ``file:///scratch/x.h5``), starts with
    one of the executor's prefixes. A file no prefix matches is at no executor in
    particular, and costs nothing anywhere.
    """

    def __init__(self, locations: Mapping[str, Sequence[str]] | None = None) -> None:
        self.prefixes: list[tuple[str, str]] = [
            (prefix, label) for label, prefixes in (locations or {}).items() for prefix in prefixes
        ]

    def __bool__(self) -> bool:
        return bool(self.prefixes)

    def holders(self, file: File) -> frozenset[str]:
        """The labels of the executors where ``file`` is."""
        names = (file.url, file.path) if file.scheme == "file" else (file.url,)
        return frozenset(
            label
            for prefix, label in self.prefixes
            if any(name.startswith(prefix) for name in names)
        )

    def away(self, inputs: Iterable[Any], labels: Sequence[str]) -> list[int] | None:
        """For each of ``labels``, how many of the :class:`~plait.File` ``inputs`` with a
        known location are elsewhere; None when no input has a known location."""
        held = [h for f in inputs if isinstance(f, File) for h in (self.holders(f),) if h]
        if not held:
            return None
        return [sum(1 for h in held if label not in h) for label in labels]


class LoadTracker:
    """The dispatcher's view of every executor's load (see the module docstring)."""

    def __init__(
        self,
        executors: Iterable[Executor],
        data_locations: Mapping[str, Sequence[str]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stats: dict[str, ExecutorStats] = {e.label: ExecutorStats(e) for e in executors}
        self.app_durations: dict[str, float] = {}
        """Mean observed task duration per app name, on any executor."""
        self.locations = DataLocations(data_locations)
        self.clock = clock
        self.running: dict[int, tuple[ExecutorStats, str, Future[Any], float, float]] = {}
        """Task id -> (executor stats, app name, future, hand-over time, queue factor)."""

    def slots(self, stats: ExecutorStats, now: float) -> tuple[int, int]:
        """``(slots, possible)`` of an executor: its capacity, asked again when older
        than :data:`~plait.scheduling.load.CAPACITY_TTL`;
        :data:`~plait.scheduling.load.UNKNOWN_SLOTS` and 0 when it does not say."""
        if now - stats.checked >= CAPACITY_TTL:
            stats.checked = now
            try:
                stats.capacity = stats.executor.capacity()
            except Exception:  # EXE-008 says it never raises; do not let it stop a launch
                logger.exception("capacity() of executor %r failed", stats.label)
                stats.capacity = None
        capacity = stats.capacity
        if capacity is None:
            return UNKNOWN_SLOTS, 0
        return capacity.slots, capacity.possible

    def duration(self, stats: ExecutorStats, name: str) -> float | None:
        """The expected duration of a task of app ``name`` on the executor: observed
        there for this app, else for this app on any executor; None before any task of
        the app finished (other apps' durations say nothing about this one)."""
        seconds = stats.durations.get(name)
        if seconds is None:
            seconds = self.app_durations.get(name)
        return seconds

    def launched(self, task_id: int, executor: Executor, name: str, future: Future[Any]) -> None:
        """Task ``task_id`` of app ``name`` was handed to ``executor``."""
        stats = self.stats.get(executor.label)
        if stats is None:
            return
        now = self.clock()
        slots, possible = self.slots(stats, now)
        waiting = stats.outstanding + 1
        factor = max(1.0, waiting / (slots or possible or 1))
        stats.outstanding = waiting
        self.running[task_id] = (stats, name, future, now, factor)

    def finished(self, task_id: int, future: Future[Any]) -> None:
        """The executor future of task ``task_id`` completed; a success is a duration
        observation."""
        entry = self.running.get(task_id)
        if entry is None or entry[2] is not future:
            return
        del self.running[task_id]
        stats, name, _, started, factor = entry
        stats.outstanding -= 1
        if not future.cancelled() and future.exception() is None:
            self.observe(stats, name, (self.clock() - started) / factor)

    def observe(self, stats: ExecutorStats, name: str, seconds: float) -> None:
        """Fold one observed duration of app ``name`` into the executor's means."""
        stats.durations[name] = _mean(stats.durations.get(name), seconds)
        self.app_durations[name] = _mean(self.app_durations.get(name), seconds)
