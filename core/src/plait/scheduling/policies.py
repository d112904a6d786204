"""Executor selection policies: which of an app's executors runs a task.

When an app may run on several executors (``@python_app(executors=["cluster",
"local"])``), the kernel asks the ``plait_choose_executor`` hook first (a plugin's
policy); when no plugin answers, the configured policy (``Config.executor_policy``)
decides:

* ``round-robin`` (the default): the candidates in turn, one task each.
* ``least-loaded``: the candidate where the task is expected to finish first, from the
  tasks the kernel has handed each executor and not seen finish, the observed
  durations of tasks (per executor and app), each executor's
  :meth:`~plait.interfaces.Executor.capacity` and, when the task's input files are at
  some executors only (``Config.data_locations``), a transfer penalty for the others.

A task's choice costs O(candidates); with a single candidate no policy runs.
"""

from __future__ import annotations

import abc
import inspect
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from plait.errors import ConfigError, did_you_mean, unknown_key
from plait.interfaces import Executor, TaskDescription
from plait.scheduling.load import LoadTracker


class SelectionPolicy(abc.ABC):
    """Picks the executor of a task among its candidates (at least two).

    ``choose`` is called on the dispatcher thread for every task launch with a choice
    (retries choose again), so it must be cheap and must not block.
    """

    name: ClassVar[str]
    """The name ``Config.executor_policy`` selects the policy by."""
    uses_load: ClassVar[bool] = False
    """True when the policy reads a :class:`~plait.scheduling.LoadTracker`: the kernel
    then counts every task it hands to an executor."""

    @abc.abstractmethod
    def choose(
        self,
        task: TaskDescription,
        candidates: Sequence[Executor],
        load: LoadTracker | None,
        inputs: Sequence[Any],
        explain: bool,
    ) -> tuple[Executor, str | None]:
        """The executor for ``task`` and, when ``explain``, why (a short text recorded
        in the task's ``launched`` event and the run log). ``load`` is the kernel's
        tracker when ``uses_load``, else None; ``inputs`` are the task's resolved
        ``inputs``."""


class RoundRobin(SelectionPolicy):
    """The candidates in turn: one counter for every app, as Parsl does."""

    name = "round-robin"

    def __init__(self) -> None:
        self._turn = itertools.count()

    def choose(
        self,
        task: TaskDescription,
        candidates: Sequence[Executor],
        load: LoadTracker | None,
        inputs: Sequence[Any],
        explain: bool,
    ) -> tuple[Executor, str | None]:
        return candidates[next(self._turn) % len(candidates)], "round-robin"

    def __repr__(self) -> str:
        return "RoundRobin()"


def _seconds(value: float) -> str:
    return f"{value:.3g}s" if math.isfinite(value) else "never"


class LeastLoaded(SelectionPolicy):
    """The candidate where the task is expected to finish first.

    For each candidate with ``n`` outstanding tasks (this one included), ``slots`` and
    ``possible`` from its capacity, and ``d`` the expected duration of the task (the
    mean observed for this app on this executor, else for this app on any executor, else
    ``default_duration``)::

        estimate = d * max(1, n / slots)                              (infinite if no slot)
        if n > slots and possible > 0:   # scaling can add blocks
            estimate = min(estimate, block_start + d * max(1, n / (slots + possible)))
        estimate += transfer_penalty * (input files whose location is another executor's)

    Ties go to the candidate with the smaller ``n / slots``, then to the earlier one.

    ``block_start`` is the expected wait (seconds) for a new block to bring workers;
    ``transfer_penalty`` is the expected cost (seconds) of moving one input file from
    the executor that holds it (``Config.data_locations``); ``default_duration`` is
    assumed before any task was observed.
    """

    name = "least-loaded"
    uses_load = True

    def __init__(
        self,
        transfer_penalty: float = 10.0,
        block_start: float = 30.0,
        default_duration: float = 1.0,
    ) -> None:
        for option, value in (
            ("transfer_penalty", transfer_penalty),
            ("block_start", block_start),
            ("default_duration", default_duration),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(
                    f"least-loaded: {option}={value!r} is not a number of seconds >= 0",
                    option=option,
                )
        self.transfer_penalty = float(transfer_penalty)
        self.block_start = float(block_start)
        self.default_duration = float(default_duration) or 1e-3

    def choose(
        self,
        task: TaskDescription,
        candidates: Sequence[Executor],
        load: LoadTracker | None,
        inputs: Sequence[Any],
        explain: bool,
    ) -> tuple[Executor, str | None]:
        assert load is not None, "least-loaded needs the kernel's load tracker"
        now = load.clock()
        away = None
        if inputs and load.locations:
            away = load.locations.away(inputs, [e.label for e in candidates])
        stats_of = load.stats
        name = task.name
        best = 0
        best_key = (math.inf, math.inf)
        notes: list[str] = []
        for i, executor in enumerate(candidates):
            stats = stats_of[executor.label]
            slots, possible = load.slots(stats, now)
            duration = load.duration(stats, name)
            d = self.default_duration if duration is None else duration
            n = stats.outstanding + 1
            estimate = (d * n / slots if n > slots else d) if slots else math.inf
            if possible and n > slots:
                grown = slots + possible
                estimate = min(estimate, self.block_start + (d * n / grown if n > grown else d))
            moved = away[i] if away is not None else 0
            if moved:
                estimate += moved * self.transfer_penalty
            key = (estimate, n / slots if slots else math.inf)
            if key < best_key:
                best, best_key = i, key
            if explain:
                note = f"{executor.label} {_seconds(estimate)} ({n - 1} outstanding, {slots} slot"
                note += "" if slots == 1 else "s"
                if possible:
                    note += f" +{possible} possible"
                if moved:
                    note += f", {moved} input{'s' if moved > 1 else ''} elsewhere"
                notes.append(note + ")")
        if not explain:
            return candidates[best], None
        first = notes.pop(best)
        return candidates[best], f"least-loaded: {first}; others: {'; '.join(notes)}"

    def __repr__(self) -> str:
        return (
            f"LeastLoaded(transfer_penalty={self.transfer_penalty}, "
            f"block_start={self.block_start}, default_duration={self.default_duration})"
        )


POLICIES: dict[str, type[SelectionPolicy]] = {
    RoundRobin.name: RoundRobin,
    LeastLoaded.name: LeastLoaded,
}
"""The policies ``Config.executor_policy`` names, by name."""


def _unknown(value: str) -> ConfigError:
    return ConfigError(
        f"executor_policy={value!r} is not one of {', '.join(POLICIES)}"
        f"{did_you_mean(value, POLICIES)}",
        hint="'round-robin' takes the candidates in turn; 'least-loaded' sends each task "
        "where it is expected to finish first",
        option="executor_policy",
    )


def check_policy(value: Any) -> None:
    """Raise :class:`~plait.errors.ConfigError` unless ``value`` is a policy name, a
    table ``{name = "least-loaded", transfer_penalty = 30}`` or a policy instance."""
    make_policy(value)


def make_policy(value: Any) -> SelectionPolicy:
    """The policy ``Config.executor_policy`` describes: a name from
    :data:`~plait.scheduling.policies.POLICIES`, a
    table with ``name`` and the policy's options, or a :class:`SelectionPolicy`
    instance (returned as is)."""
    if isinstance(value, SelectionPolicy):
        return value
    if isinstance(value, str):
        cls = POLICIES.get(value)
        if cls is None:
            raise _unknown(value)
        return cls()
    if isinstance(value, Mapping):
        options = dict(value)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(
                f"executor_policy table {value!r} has no 'name'",
                hint='write executor_policy = {name = "least-loaded", transfer_penalty = 30}',
                option="executor_policy",
            )
        cls = POLICIES.get(name)
        if cls is None:
            raise _unknown(name)
        known = list(inspect.signature(cls).parameters)
        for key in options:
            if key not in known:
                raise unknown_key(f"executor_policy {name!r}", key, known)
        return cls(**options)
    raise ConfigError(
        f"executor_policy={value!r} is a {type(value).__name__}, not a policy name",
        hint=f"use one of {', '.join(POLICIES)}, or a SelectionPolicy instance",
        option="executor_policy",
    )
