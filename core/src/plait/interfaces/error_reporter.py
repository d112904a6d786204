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
    """Renders the final failure of a task for a person or a machine
    (``interface-specs/error-reporter.md``).

    Options such as an output path are constructor arguments; construction starts no
    threads (ERR-001). The optional capability ``traceback`` says that the rendering
    includes the traceback and its causes (ERR-101).
    """

    @abc.abstractmethod
    def report(self, error: BaseException, context: ErrorContext) -> None:
        """Render one failure.

        Never raises or hangs, whatever the error (ERR-002); renders the context, the
        exception's type and message (ERR-003) and, for a
        :class:`~plait.errors.PlaitError`, its code, hint and docs link (ERR-004).
        Safe to call from several threads at once (ERR-006); SHOULD be written out
        when it returns (ERR-007) and stay under 64 KiB per report (ERR-008).
        """

    def close(self) -> None:
        """Flush and release resources at the end of a run; idempotent, and a later
        :meth:`report` neither raises nor hangs (ERR-005)."""
