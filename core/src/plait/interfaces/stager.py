"""The data stager interface (``interface-specs/stager.md``)."""

from __future__ import annotations

import abc
import os
from typing import TYPE_CHECKING, ClassVar

from plait.interfaces.component import Component

if TYPE_CHECKING:
    from plait.data.files import File

STAGING_MODES = frozenset({"task", "separate"})
"""Where a stager's calls run: ``task`` inside the app's task, where it runs; ``separate``
as staging tasks of their own in the submitting process, before and after the app's."""


class Stager(Component, abc.ABC):
    """Makes files named by URL available where a task runs, and moves outputs back
    (``interface-specs/stager.md``).

    ``schemes`` lists the lowercase URL schemes it handles (``file``, ``https``,
    ``globus`` ...) and ``modes`` where its calls run (``task``, ``separate``; STG-001).
    Construction does no I/O and instances pickle (STG-002). Calls may come from several
    threads at once (STG-005). The optional capability ``stage_out`` says that
    :meth:`stage_out` publishes files (STG-101, STG-102).
    """

    schemes: ClassVar[frozenset[str]]
    modes: ClassVar[frozenset[str]] = frozenset({"task"})

    def accepts(self, file: File) -> bool:
        """True when this stager handles ``file`` (default: its scheme is in
        ``schemes``). Among an executor's stagers the first that accepts a file wins."""
        return file.scheme in self.schemes

    def local_path(self, file: File, workdir: str) -> str:
        """Where a task reads ``file`` after :meth:`stage_in`, or writes it before
        :meth:`stage_out`: ``workdir/<file name>`` (a stager of local paths returns the
        path itself)."""
        return os.path.join(workdir, file.filename)

    @abc.abstractmethod
    def stage_in(self, file: File, workdir: str) -> File:
        """Make ``file`` readable in ``workdir`` (a directory that exists, of this task
        alone); return a :class:`~plait.File` with the same ``url`` whose ``filepath``
        is the local copy, :meth:`local_path` (STG-003).

        Raise :class:`~plait.errors.MissingInputFileError` naming the URL when the input
        does not exist (STG-004), another :class:`~plait.errors.StagingError` naming it
        for other failures; leave no partial file behind (STG-006).
        """

    @abc.abstractmethod
    def stage_out(self, file: File, workdir: str) -> None:
        """Publish the file the task wrote at ``file.filepath`` to ``file.url``
        (STG-101); raise :class:`~plait.errors.MissingOutputsError` naming the URL when
        it was not written (STG-102). A stager without the ``stage_out`` capability is
        never asked to."""
