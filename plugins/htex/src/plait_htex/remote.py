"""How a task's exception travels back from a worker, and how it shows on the submit side."""

from __future__ import annotations

import traceback
from typing import Any

import attrs

from plait.apps.applog import AppLogs, take_logs


@attrs.frozen
class Place:
    """Where a worker runs: its rank in its manager's pool, process id, block and host."""

    worker: int
    pid: int
    block: str
    host: str

    def __str__(self) -> str:
        return f"worker {self.worker} (pid {self.pid}) of block {self.block} on {self.host}"


@attrs.define
class RemoteFailure:
    """What a worker sends back when a task raised: the exception if it could be
    serialized (else its type name and message), the traceback as text, where, and the
    records the task logged to ``plait.app_logger()`` (kept apart from the exception,
    so that they come back whether or not it serializes)."""

    exc: BaseException | None
    type_name: str
    message: str
    traceback: str
    where: Place
    logs: AppLogs | None = None

    @classmethod
    def capture(cls, exc: BaseException, where: Place) -> RemoteFailure:
        """Record ``exc`` (being handled) raised at ``where``."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        return cls(exc, name, str(exc), text, where, take_logs(exc))

    def without_exception(self) -> RemoteFailure:
        """The same failure with the exception object dropped (it did not serialize)."""
        return attrs.evolve(self, exc=None)


class RemoteTraceback(Exception):
    """The ``__cause__`` of a task's exception: the traceback on the worker, as text,
    headed by where it ran. The attributes say the same as data: ``executor`` (label),
    ``host``, ``block``, ``worker``, ``pid``, ``attempt`` (from 1), and the exception's
    ``type_name`` and ``message``."""

    def __init__(self, failure: RemoteFailure, executor: str, attempt: int) -> None:
        place = failure.where
        text = f"\n\nTraceback on {place} of executor {executor!r}, attempt {attempt}:\n"
        super().__init__(text + failure.traceback)
        self.text = text + failure.traceback
        self.executor = executor
        self.host, self.block, self.worker, self.pid = (
            place.host, place.block, place.worker, place.pid
        )  # fmt: skip
        self.attempt = attempt
        self.type_name = failure.type_name
        self.message = failure.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (Exception.__new__, (type(self),), vars(self))

    def __str__(self) -> str:
        return self.text
