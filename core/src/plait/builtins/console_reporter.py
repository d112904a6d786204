"""The built-in error reporter: one line per failed task on stderr, plus the run log."""

from __future__ import annotations

import logging
import sys

from plait.interfaces import ErrorContext, ErrorReporter

logger = logging.getLogger("plait.errors")


class ConsoleErrorReporter(ErrorReporter):
    """Prints ``plait: task 3 (fit) failed ...`` to stderr and logs the traceback."""

    maturity = "alpha"

    def report(self, error: BaseException, context: ErrorContext) -> None:
        tries = "attempt" if context.attempts == 1 else "attempts"
        first_line = str(error).splitlines()[0] if str(error) else ""
        print(
            f"plait: task {context.task_id} ({context.task_name}) failed after "
            f"{context.attempts} {tries} on {context.executor!r}: "
            f"{type(error).__name__}: {first_line}",
            file=sys.stderr,
        )
        logger.error("task %s (%s) failed", context.task_id, context.task_name, exc_info=error)
