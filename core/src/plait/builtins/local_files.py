"""The built-in stager for local (and shared file system) paths."""

from __future__ import annotations

import os

from plait.data.files import File
from plait.errors import MissingInputFileError, MissingOutputsError
from plait.interfaces import Stager


class LocalFileStager(Stager):
    """``file`` URLs and plain paths: nothing to move, but inputs must exist
    (``interface-specs/stager.md``; it also meets the ``stage_out`` obligations,
    STG-101/102, without declaring the capability yet)."""

    schemes = frozenset({"file"})
    capabilities = frozenset({"stage_out"})
    maturity = "alpha"

    def stage_in(self, file: File) -> File:
        if not os.path.exists(file.path):
            raise MissingInputFileError(
                f"input file {file.url} does not exist (cwd {os.getcwd()})", path=file.path
            )
        return file

    def stage_out(self, file: File) -> None:
        if not os.path.exists(file.filepath):
            raise MissingOutputsError(
                f"output file {file.url} was not written", missing=[file.filepath]
            )
