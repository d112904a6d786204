"""App-level logging: :func:`plait.app_logger` and how its records travel with a task.

Where the task runs, the kernel's task wrapper (:class:`CapturedCall` for a plain
python app, :class:`plait.apps.execution.TaskCall` for the others) calls the app inside
:func:`call_captured`, which makes a :class:`Capture` current in a context variable for
the duration of the call. A record emitted to an app logger while a capture is current
in the logging thread's context is kept in that capture instead of being passed to
logging's handlers, so tasks running concurrently in one process (the threads
executor) each keep their own records. The call returns its value unchanged when the
app logged nothing; otherwise a :class:`LoggedResult` holding the value and the
:class:`AppLogs`. When the call raises, the records ride on the exception (see
:func:`take_logs`). The kernel unwraps both, formats the records with the task's id and
attempt (:func:`format_logs`), keeps the final attempt's lines for
:meth:`plait.AppFuture.logs` and appends every attempt's lines to
``<run dir>/tasks/<task id>.log``.

A task keeps at most :data:`APP_LOG_LIMIT` characters of records: past it the oldest
records are dropped and the first line kept says how many were.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

APP_LOGGER = "plait.app"
"""The name of the logger :func:`plait.app_logger` returns (``plait.app.NAME`` for a
named one)."""

APP_LOG_LIMIT = 1024 * 1024
"""How many characters of app log records a task attempt keeps (1 MiB): their messages
plus ``RECORD_OVERHEAD`` (80) per record. 0 turns capturing off."""

RECORD_OVERHEAD = 80
"""What each record counts for towards the limit besides its message: the length of
its formatted prefix (time, level, task, attempt, host)."""

Record = tuple[float, str, str, str, str]
"""One captured record: time (``time.time()``), level name, logger name, origin (the
host, and ``rank N`` for a rank of an ``mpi_app``) and the message (with its traceback
when the record has one)."""

LOGS_ATTRIBUTE = "_plait_app_logs"
"""The attribute of a task's exception that carries the records of its attempt."""


@attrs.frozen
class AppLogs:
    """The records one task attempt logged, oldest first, and how many older ones were
    dropped to stay within ``limit`` characters."""

    records: tuple[Record, ...]
    dropped: int = 0
    limit: int = APP_LOG_LIMIT


@attrs.frozen
class LoggedResult:
    """What a captured call returns when the app logged: its value and its records."""

    value: Any
    logs: AppLogs


def split_result(result: Any) -> tuple[Any, AppLogs | None]:
    """``(value, logs)`` of what a captured call returned (``logs`` None when it logged
    nothing)."""
    if type(result) is LoggedResult:
        return result.value, result.logs
    return result, None


def attach_logs(exc: BaseException, logs: AppLogs) -> None:
    """Let ``exc`` carry a failed attempt's records (as :data:`LOGS_ATTRIBUTE`)."""
    with contextlib.suppress(Exception):  # an exception that takes no attributes
        setattr(exc, LOGS_ATTRIBUTE, logs)


def take_logs(exc: BaseException) -> AppLogs | None:
    """Remove and return the records ``exc`` carries, if any."""
    state = getattr(exc, "__dict__", None)
    logs = state.pop(LOGS_ATTRIBUTE, None) if state is not None else None
    return logs if isinstance(logs, AppLogs) else None


# --- capturing -------------------------------------------------------------------------

_HOST: str | None = None


def host() -> str:
    """This host's name (asked once per process)."""
    global _HOST
    if _HOST is None:
        _HOST = socket.gethostname()
    return _HOST


_formatter = logging.Formatter()
_keep_lock = threading.Lock()


class Capture:
    """The records of one task attempt, kept while it runs (the last ones, within
    ``limit`` characters)."""

    __slots__ = ("dropped", "limit", "origin", "records", "size")

    def __init__(self, limit: int, origin: str) -> None:
        self.limit = limit
        self.origin = origin
        self.records: collections.deque[Record] | None = None  # made by the first record
        self.size = 0
        self.dropped = 0

    def add(self, record: logging.LogRecord) -> None:
        """Keep one logging record."""
        try:
            message = record.getMessage()
        except Exception as exc:  # a bad format string must not fail the task
            message = f"{record.msg!r} % {record.args!r} failed: {type(exc).__name__}: {exc}"
        if record.exc_info:
            message += "\n" + _formatter.formatException(record.exc_info)
        elif record.exc_text:
            message += "\n" + record.exc_text
        if record.stack_info:
            message += "\n" + _formatter.formatStack(record.stack_info)
        self.keep((record.created, record.levelname, record.name, self.origin, message))

    def keep(self, entry: Record) -> None:
        """Keep one record; drop the oldest while over the limit."""
        room = max(self.limit - RECORD_OVERHEAD, 0)
        message = entry[4]
        if len(message) > room:
            marker = " ... [truncated]"
            message = message[: max(room - len(marker), 0)] + marker
            entry = (*entry[:4], message)
        with _keep_lock:  # threads the task started in its context may log at once
            records = self.records
            if records is None:
                records = self.records = collections.deque()
            records.append(entry)
            self.size += len(message) + RECORD_OVERHEAD
            while self.size > self.limit and len(records) > 1:
                self.size -= len(records.popleft()[4]) + RECORD_OVERHEAD
                self.dropped += 1

    def extend(self, logs: AppLogs) -> None:
        """Keep records captured elsewhere (the ranks of an ``mpi_app``)."""
        self.dropped += logs.dropped
        for entry in logs.records:
            self.keep(entry)

    def logs(self) -> AppLogs | None:
        """What was kept, or None when nothing was logged."""
        if self.records is None:
            return None
        with _keep_lock:
            return AppLogs(tuple(self.records), self.dropped, self.limit)


_current: contextvars.ContextVar[Capture | None] = contextvars.ContextVar(
    "plait_app_log_capture", default=None
)


def current_capture() -> Capture | None:
    """The capture of the task running in this context, if any."""
    return _current.get()


def call_captured(
    func: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    limit: int,
    origin: str | None = None,
) -> Any:
    """``func(*args, **kwargs)`` with app log records captured (see the module's
    docstring): its value, or a :class:`LoggedResult` when it logged."""
    capture = Capture(limit, origin if origin is not None else host())
    token = _current.set(capture)
    try:
        value = func(*args, **kwargs)
    except BaseException as exc:
        logs = capture.logs()
        if logs is not None:
            attach_logs(exc, logs)
        raise
    finally:
        _current.reset(token)
    logs = capture.logs()
    return value if logs is None else LoggedResult(value, logs)


@attrs.frozen
class CapturedCall:
    """A plain python app's function with app log records captured: what the kernel
    hands an executor (one per function, so executors that cache encoded functions
    still do)."""

    func: Callable[..., Any]
    limit: int = APP_LOG_LIMIT

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return call_captured(self.func, args, kwargs, self.limit)

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        """The app's function (what error messages and ``inspect`` name)."""
        return self.func

    def run(self, args: Sequence[Any], kwargs: Mapping[str, Any], origin: str) -> Any:
        """The call, with records from ``origin`` (a rank of an ``mpi_app``)."""
        return call_captured(self.func, args, kwargs, self.limit, origin)


# --- the loggers ----------------------------------------------------------------------


class AppLogger(logging.Logger):
    """The logger :func:`plait.app_logger` returns.

    Inside a task its records go to the task's capture (and to handlers added to this
    logger itself), not up the logger hierarchy; outside a task it behaves as a child
    of the registered logger of the same name, so records go wherever logging sends
    ``plait.app`` records. The level comes from that logger too (``plait.app`` is set
    to ``INFO`` when plait is imported, unless it already has a level).
    """

    def __init__(self, name: str, suffix: str | None) -> None:
        super().__init__(name)
        self.parent = logging.getLogger(name)
        self._suffix = suffix

    def isEnabledFor(self, level: int) -> bool:
        # not cached: this logger is not registered, so logging cannot clear a cache
        if self.disabled or self.manager.disable >= level:
            return False
        return level >= self.getEffectiveLevel()

    def callHandlers(self, record: logging.LogRecord) -> None:
        capture = _current.get()
        if capture is None:
            super().callHandlers(record)
            return
        capture.add(record)
        for handler in self.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)

    def getChild(self, suffix: str) -> AppLogger:
        return _app_logger(f"{self._suffix}.{suffix}" if self._suffix else suffix)

    def __reduce__(self) -> tuple[Any, ...]:
        return app_logger, (self._suffix,)


_loggers: dict[str | None, AppLogger] = {}
_loggers_lock = threading.Lock()


def app_logger(name: str | None = None) -> logging.Logger:
    """The logger to log from inside an app.

    In a task, its records are kept with the task rather than printed where the task
    runs: they come back with the result (or the failure) and are
    :meth:`AppFuture.logs() <plait.AppFuture.logs>` and the lines of
    ``<run dir>/tasks/<task id>.log``, each with the time, level, task id, attempt and
    host. ``name`` gives a child logger, ``plait.app.NAME``, whose name shows in each
    line. Outside a task (in the script, or in a join app's body) its records go to
    logging as any ``plait.app`` record does. Records at ``INFO`` and above are kept
    unless the ``plait.app`` logger, or this one, is given another level. See
    :ref:`app-logging`.
    """
    return _app_logger(name or None)


def _app_logger(name: str | None) -> AppLogger:
    logger = _loggers.get(name)
    if logger is None:
        with _loggers_lock:
            logger = _loggers.get(name)
            if logger is None:
                full = f"{APP_LOGGER}.{name}" if name else APP_LOGGER
                logger = _loggers[name] = AppLogger(full, name)
    return logger


_root_app_logger = logging.getLogger(APP_LOGGER)
if _root_app_logger.level == logging.NOTSET:
    _root_app_logger.setLevel(logging.INFO)


# --- on the submit side -----------------------------------------------------------------


def _timestamp(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) + f".{millis:03d}"


def format_logs(logs: AppLogs, task_id: int, attempt: int) -> list[str]:
    """One line per record (a record with a traceback spans several lines):
    ``2026-11-26 16:30:01.123 INFO task 7 attempt 1 host vm: message``, with
    ``[NAME]`` before the colon for a named logger ``plait.app.NAME`` and ``rank N``
    after the host for a rank of an ``mpi_app``. ``attempt`` counts from 1. When records
    were dropped, the first line says how many."""
    where = f"task {task_id} attempt {attempt} host"
    prefix = APP_LOGGER + "."
    lines: list[str] = []
    if logs.dropped:
        first = logs.records[0] if logs.records else (time.time(), "", "", host(), "")
        lines.append(
            f"{_timestamp(first[0])} WARNING {where} {first[3]}: {logs.dropped} earlier "
            f"records dropped (a task keeps the last {logs.limit} characters of records)"
        )
    for created, level, name, origin, message in logs.records:
        named = f" [{name[len(prefix) :]}]" if name.startswith(prefix) else ""
        lines.append(f"{_timestamp(created)} {level} {where} {origin}{named}: {message}")
    return lines


LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (?P<level>[A-Z]+) task (?P<task>\d+) "
    r"attempt (?P<attempt>\d+) host (?P<host>\S+)(?: \[(?P<name>[^\]]+)\])?: (?P<message>.*)$",
    re.DOTALL,
)
"""What :func:`format_logs` writes, as a pattern with named groups ``level``, ``task``,
``attempt``, ``host`` (with `` rank N`` for an MPI rank not included), ``name`` and
``message``."""


def parse_log_line(line: str) -> dict[str, str] | None:
    """The fields of one app log line (:data:`LINE`'s groups), or None for another
    line (a traceback's continuation)."""
    match = LINE.match(line)
    return match.groupdict() if match else None


def merge(parts: Iterable[AppLogs]) -> AppLogs | None:
    """The records of several captures (the ranks of an ``mpi_app``) in time order."""
    records: list[Record] = []
    dropped = 0
    limit = 0
    for part in parts:
        records.extend(part.records)
        dropped += part.dropped
        limit = max(limit, part.limit)
    if not records and not dropped:
        return None
    records.sort(key=lambda r: r[0])
    return AppLogs(tuple(records), dropped, limit)
