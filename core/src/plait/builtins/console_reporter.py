"""The built-in error reporter: one line per failed task on stderr, plus the run log.

On a terminal the lines are styled with rich (the code in red, the hint in yellow, the
docs link clickable where the terminal supports links); elsewhere, and with
``NO_COLOR`` set or ``TERM=dumb``, they are plain text."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
import threading

from plait.errors import PlaitError
from plait.interfaces import ErrorContext, ErrorReporter

logger = logging.getLogger("plait.errors")

MAX_TEXT = 2000
"""Characters of a message or hint shown on the console (ERR-008); the run log has all."""


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        try:
            return repr(value)
        except Exception:
            return f"<{type(value).__name__} that cannot be printed>"


def _first_line(text: str) -> str:
    return text.partition("\n")[0].rstrip("\r")


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def _styled(stream: object) -> bool:
    """Whether ``stream`` is a terminal that takes colors."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _rich(text: str) -> str:
    """``text`` (what :meth:`ConsoleErrorReporter.render` gives) styled for a terminal,
    as a string with its ANSI escape codes."""
    from rich.console import Console
    from rich.text import Text

    styled = Text(text)
    styled.highlight_regex(r"^plait: task \d+ \([^\n]*?\) failed", "bold")
    styled.highlight_regex(r"\[PLT-\d{3}\][^:\n]*", "bold red")
    styled.highlight_regex(r"(?m)^  hint: .*$", "yellow")
    for match in re.finditer(r"(?m)^  docs: (\S+)$", text):
        styled.stylize(f"link {match[1]}", *match.span(1))
    console = Console(file=io.StringIO(), force_terminal=True, width=10_000, highlight=False)
    with console.capture() as captured:
        console.print(styled, end="", soft_wrap=True)
    return captured.get()


class ConsoleErrorReporter(ErrorReporter):
    """Prints ``plait: task 3 (fit) failed ...`` to stderr (with the code's hint and docs
    link for a :class:`~plait.PlaitError`) and logs the traceback to the run log
    (``interface-specs/error-reporter.md``)."""

    maturity = "alpha"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def report(self, error: BaseException, context: ErrorContext) -> None:
        try:
            text = self.render(error, context)
        except Exception:  # ERR-002: never raise; say what we can
            text = f"plait: task {context.task_id} failed ({type(error).__name__})"
        with contextlib.suppress(Exception), self._lock:  # ERR-006: one write per report
            stream = sys.stderr
            if _styled(stream):
                text = _rich(text)
            stream.write(text + "\n")
            stream.flush()
        # the traceback goes to the run log; without any handler, logging's last resort
        # would print it, unbounded, to stderr as well (ERR-008)
        with contextlib.suppress(Exception):
            if logger.hasHandlers():
                logger.error(
                    "task %s (%s) failed", context.task_id, context.task_name, exc_info=error
                )

    def render(self, error: BaseException, context: ErrorContext) -> str:
        """The lines printed for one failure."""
        tries = "attempt" if context.attempts == 1 else "attempts"
        if isinstance(error, PlaitError):
            message = _safe_str(getattr(error, "message", ""))
            summary = f"[{error.code}] {error.title}: {_first_line(message)}"
        else:
            summary = _first_line(_safe_str(error))
        lines = [
            f"plait: task {context.task_id} ({_clip(context.task_name, 200)}) failed after "
            f"{context.attempts} {tries} on {_clip(context.executor, 200)!r}: "
            f"{type(error).__name__}: {_clip(summary)}"
        ]
        if isinstance(error, PlaitError):
            hint = _safe_str(getattr(error, "hint", ""))
            if hint:
                lines.append(f"  hint: {_clip(hint)}")
            lines.append(f"  docs: {error.docs_url}")
        # lone surrogates cannot be encoded by every stream: escape them
        return "\n".join(lines).encode("utf-8", "backslashreplace").decode("utf-8")
