"""The data stager interface (``interface-specs/stager.md``)."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar

from plait.interfaces.component import Component

if TYPE_CHECKING:
    from plait.data.files import File


class Stager(Component, abc.ABC):
    """Makes files named by URL available where a task runs, and moves outputs back
    (``interface-specs/stager.md``).

    ``schemes`` lists the lowercase URL schemes it handles (``file``, ``https``,
    ``globus`` ...; STG-001). Construction does no I/O and instances pickle (STG-002).
    Both methods run where the task runs, just before and just after the app, possibly
    from several threads at once (STG-005). The optional capability ``stage_out`` says
    that :meth:`stage_out` publishes files (STG-101, STG-102).
    """

    schemes: ClassVar[frozenset[str]]

    @abc.abstractmethod
    def stage_in(self, file: File) -> File:
        """Make ``file`` readable locally; return a :class:`~plait.File` with the same
        ``url`` whose ``filepath`` is the local copy (may be ``file`` itself; STG-003).

        Raise :class:`~plait.errors.MissingInputFileError` naming the URL when the input
        does not exist (STG-004).
        """

    @abc.abstractmethod
    def stage_out(self, file: File) -> None:
        """Publish the file the task wrote at ``file.filepath`` to ``file.url``
        (STG-101); raise :class:`~plait.errors.MissingOutputsError` naming the URL when
        it was not written (STG-102). A stager without the ``stage_out`` capability is
        never asked to."""
