"""The end-of-run summary: failed tasks grouped by error code, with counts and one
example each."""

from __future__ import annotations

import threading

import attrs

from plait.errors import PlaitError

EXAMPLE_CHARS = 300
"""Characters of an example's message shown in the summary."""


@attrs.define
class FailureGroup:
    """The failed tasks of one code (or exception type): how many, and the first."""

    key: str
    title: str
    count: int
    example_task: str
    example_message: str


class FailureSummary:
    """Collects the final failures of a run's tasks (dependency failures included)."""

    def __init__(self) -> None:
        self._groups: dict[str, FailureGroup] = {}
        self._lock = threading.Lock()

    def add(self, task: str, error: BaseException) -> None:
        """Count the final failure of ``task`` (e.g. ``task 3 (fit)``)."""
        if isinstance(error, PlaitError):
            key, title, message = error.code, error.title, error.message
        else:
            key, title, message = type(error).__name__, "exception raised by the app", str(error)
        first_line = message.partition("\n")[0]
        if len(first_line) > EXAMPLE_CHARS:
            first_line = first_line[:EXAMPLE_CHARS] + "..."
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                self._groups[key] = FailureGroup(key, title, 1, task, first_line)
            else:
                group.count += 1

    @property
    def groups(self) -> list[FailureGroup]:
        """The groups, most failures first."""
        with self._lock:
            return sorted(self._groups.values(), key=lambda g: (-g.count, g.key))

    @property
    def total(self) -> int:
        """How many tasks failed."""
        return sum(g.count for g in self.groups)

    def render(self) -> str:
        """``plait: 4 tasks failed`` and a line per group; ``""`` when none failed."""
        groups = self.groups
        if not groups:
            return ""
        total = sum(g.count for g in groups)
        lines = [f"plait: {total} task{'s' if total > 1 else ''} failed in this run"]
        for g in groups:
            lines.append(
                f"  {g.count:>5} x {g.key} {g.title}; e.g. {g.example_task}: {g.example_message}"
            )
        return "\n".join(lines)
