"""Futures for files an app produces."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING

from plait.concurrency import cancel_and_notify
from plait.data.files import File

if TYPE_CHECKING:
    from plait.apps.futures import AppFuture


class DataFuture(Future[File]):
    """Completes with its :class:`File` when the app that writes it succeeds, and
    fails with that app's error otherwise."""

    def __init__(self, parent: AppFuture, file: File) -> None:
        super().__init__()
        self.parent = parent
        self.file_obj = file
        parent.add_done_callback(self._parent_done)

    @property
    def tid(self) -> int:
        """The task id of the app that writes this file."""
        return self.parent.tid

    @property
    def filepath(self) -> str:
        """The file's local path."""
        return self.file_obj.filepath

    def _parent_done(self, parent: Future[object]) -> None:
        if parent.cancelled():
            cancel_and_notify(self)
            return
        exc = parent.exception()
        if exc is not None:
            self.set_exception(exc)
        else:
            self.set_result(self.file_obj)

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"<DataFuture {self.file_obj.url} of task {self.tid} {state}>"
