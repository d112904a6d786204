"""The data stager interface (``interface-specs/stager.md``)."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar

from plait.interfaces.component import Component

if TYPE_CHECKING:
    from plait.data.files import File


class Stager(Component, abc.ABC):
    """Makes files named by URL available where a task runs, and moves outputs back.

    ``schemes`` lists the URL schemes it handles (``file``, ``https``, ``globus`` ...).
    Both methods run where the task runs, just before and just after the app.
    """

    schemes: ClassVar[frozenset[str]]

    @abc.abstractmethod
    def stage_in(self, file: File) -> File:
        """Make ``file`` readable locally; return the local file (may be ``file``)."""

    @abc.abstractmethod
    def stage_out(self, file: File) -> None:
        """Publish a file the task wrote; raise when it is missing."""
