"""The built-in stager for local (and shared file system) paths."""

from __future__ import annotations

import os

from plait.data.files import File
from plait.errors import MissingInputFileError
from plait.interfaces import Stager


class LocalFileStager(Stager):
    """``file`` URLs and plain paths: nothing to move, but inputs must exist."""

    schemes = frozenset({"file"})
    maturity = "alpha"

    def stage_in(self, file: File) -> File:
        if not os.path.exists(file.path):
            raise MissingInputFileError(
                f"input file {file.path} does not exist (cwd {os.getcwd()})", path=file.path
            )
        return file

    def stage_out(self, file: File) -> None:
        if not os.path.exists(file.path):
            raise MissingInputFileError(f"output file {file.path} was not written", path=file.path)
