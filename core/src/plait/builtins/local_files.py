"""The built-in stager for local (and shared file system) paths."""

from __future__ import annotations

import os

import attrs

from plait.data.files import File
from plait.data.roots import check_within
from plait.errors import MissingInputFileError, MissingOutputsError
from plait.interfaces import Stager


@attrs.define
class LocalFileStager(Stager):
    """``file`` URLs and plain paths: nothing to move, but inputs must exist and
    outputs must have been written (``interface-specs/stager.md``).

    ``allowed_roots`` (default: anywhere) limits the directories tasks may read and
    write files in.
    """

    allowed_roots: list[str] = attrs.field(factory=list)

    schemes = frozenset({"file"})
    capabilities = frozenset({"stage_out"})
    maturity = "alpha"

    def local_path(self, file: File, workdir: str) -> str:
        return file.path

    def stage_in(self, file: File, workdir: str) -> File:
        check_within(file.path, self.allowed_roots, file.url)
        if not os.path.exists(file.path):
            raise MissingInputFileError(
                f"input file {file.url} does not exist (cwd {os.getcwd()})", path=file.path
            )
        return file

    def stage_out(self, file: File, workdir: str) -> None:
        check_within(file.filepath, self.allowed_roots, file.url)
        if not os.path.exists(file.filepath):
            raise MissingOutputsError(
                f"output file {file.url} was not written", missing=[file.filepath]
            )
