"""The error reporter interface (``interface-specs/error-reporter.md``)."""

from __future__ import annotations

import abc

import attrs

from plait.interfaces.component import Component


@attrs.frozen
class ErrorContext:
    """Where a reported error happened."""

    task_id: int
    task_name: str
    executor: str
    attempts: int


class ErrorReporter(Component, abc.ABC):
    """Renders the final failure of a task for a person or a machine."""

    @abc.abstractmethod
    def report(self, error: BaseException, context: ErrorContext) -> None:
        """Render one failure; must not raise."""

    def close(self) -> None:
        """Flush and release resources at the end of a run."""
