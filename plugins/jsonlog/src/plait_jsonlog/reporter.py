"""The ``jsonlog`` error reporter: one JSON object per failed task, appended to a file."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import threading
from datetime import datetime, timezone
from typing import ClassVar

import attrs

from plait.errors import ConfigError
from plait.interfaces import ErrorContext, ErrorReporter
from plait.validators import int_at_least
from plait_jsonlog.record import DEFAULT_MAX_TRACEBACK_CHARS, render_line, safe_text, type_name

logger = logging.getLogger("plait_jsonlog")

DEFAULT_PATH = "errors.jsonl"


def resolve_path(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute (``~`` expanded, relative to the current directory now)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(
            f"JsonLogErrorReporter.path={path!r} is not a path",
            hint='give a file name, such as path = "errors.jsonl"',
            option="path",
        )
    text = os.fspath(path)
    if not text:
        raise ConfigError(
            "JsonLogErrorReporter.path is empty",
            hint='give a file name, such as path = "errors.jsonl"',
            option="path",
        )
    absolute = os.path.abspath(os.path.expanduser(text))
    if os.path.isdir(absolute):
        raise ConfigError(
            f"JsonLogErrorReporter.path={text!r} is a directory ({absolute})",
            hint='name a file in it, such as path = "logs/errors.jsonl"',
            option="path",
        )
    return absolute


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _write_all(out: io.FileIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = out.write(view)
        if not written:
            raise OSError(f"could not write to {out.name!r}")
        view = view[written:]


@attrs.define(eq=False)
class JsonLogErrorReporter(ErrorReporter):
    """Appends one JSON object per failed task, one per line (JSON Lines), to ``path``
    (``interface-specs/error-reporter.md``).

    Options:

    * ``path``: the file (default ``errors.jsonl``); a relative path is relative to the
      current directory when the reporter is constructed (at ``plait.load``), so a later
      ``os.chdir`` does not move it. Missing parent directories are created.
    * ``max_traceback_chars``: characters of the formatted traceback kept, its start and
      end (default 32768; 0 leaves the traceback out). Whatever the limits, a line stays
      under 64 KiB (ERR-008).

    Nothing is opened when the reporter is constructed (ERR-001): the file is opened in
    append mode at the first report, and each report is then one unbuffered write of a
    whole line, under a lock (ERR-006, ERR-007). :meth:`close` closes the file; a report
    after it is still appended, opening and closing the file for that one line (ERR-005).
    A file that cannot be written is logged once (logger ``plait_jsonlog``) and
    reporting goes on without it (ERR-002).
    """

    path: str = attrs.field(default=DEFAULT_PATH, converter=resolve_path)
    max_traceback_chars: int = attrs.field(
        default=DEFAULT_MAX_TRACEBACK_CHARS, validator=int_at_least(0)
    )

    capabilities: ClassVar[frozenset[str]] = frozenset({"traceback"})
    maturity: ClassVar[str] = "alpha"
    conformance_kit: ClassVar[str | None] = "plait_jsonlog.conformance:JsonLogConformance"

    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _file: io.FileIO | None = attrs.field(default=None, init=False, repr=False)
    _closed: bool = attrs.field(default=False, init=False, repr=False)
    _warned: bool = attrs.field(default=False, init=False, repr=False)

    def report(self, error: BaseException, context: ErrorContext) -> None:
        time = _now()
        try:
            line = render_line(error, context, time, self.max_traceback_chars)
        except Exception:  # ERR-002: never raise; write what is sure to render
            line = json.dumps(
                {
                    "time": time,
                    "task_id": safe_text(context.task_id)[:100],
                    "task_name": safe_text(context.task_name)[:500],
                    "executor": safe_text(context.executor)[:500],
                    "type": type_name(type(error)),
                    "message": "<the error could not be rendered>",
                }
            )
        data = (line + "\n").encode("ascii")  # json.dumps escapes everything else
        with self._lock:
            try:
                self._write(data)
            except Exception as exc:
                self._warn(exc)

    def _write(self, data: bytes) -> None:
        if self._closed:
            with self._open() as out:
                _write_all(out, data)
            return
        if self._file is None:
            self._file = self._open()
        _write_all(self._file, data)

    def _open(self) -> io.FileIO:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        return open(self.path, "ab", buffering=0)  # kept open until close()

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            with contextlib.suppress(Exception):
                logger.warning("cannot write error reports to %s: %s", self.path, exc)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            file, self._file = self._file, None
            if file is not None:
                with contextlib.suppress(OSError):
                    file.close()
