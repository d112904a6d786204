"""How a task's exception travels back from a worker, and how it shows on the submit side."""

from __future__ import annotations

import traceback

import attrs

from plait.apps.applog import AppLogs, take_logs


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
    where: str
    logs: AppLogs | None = None

    @classmethod
    def capture(cls, exc: BaseException, where: str) -> RemoteFailure:
        """Record ``exc`` (being handled) raised at ``where``."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        return cls(exc, name, str(exc), text, where, take_logs(exc))

    def without_exception(self) -> RemoteFailure:
        """The same failure with the exception object dropped (it did not serialize)."""
        return attrs.evolve(self, exc=None)


class RemoteTraceback(Exception):
    """The ``__cause__`` of a task's exception: the traceback on the worker, as text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text
