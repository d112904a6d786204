"""The :class:`File` type: a file named by path or URL that tasks read or write."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse


class File(os.PathLike[str]):
    """A file by local path or URL (``file://``, ``https://``, ``globus://`` ...).

    Pass it in an app's ``inputs=[...]`` to make the task wait for it and check it
    exists before the app runs, or in ``outputs=[...]`` to get a
    :class:`~plait.DataFuture` for it.
    """

    def __init__(self, url: str | os.PathLike[str]) -> None:
        self.url = os.fspath(url)
        parsed = urlparse(self.url)
        has_scheme = len(parsed.scheme) > 1  # "C:" is a drive letter, not a scheme
        self.scheme = parsed.scheme if has_scheme else "file"
        self.netloc = parsed.netloc if has_scheme else ""
        self.path = parsed.path if has_scheme else self.url
        self.local_path: str | None = None

    @property
    def filename(self) -> str:
        """The last component of the path."""
        return os.path.basename(self.path)

    @property
    def filepath(self) -> str:
        """The path to use locally: the staged copy if there is one."""
        if self.local_path is not None:
            return self.local_path
        return self.path

    def __fspath__(self) -> str:
        return self.filepath

    def __str__(self) -> str:
        return self.filepath

    def __repr__(self) -> str:
        return f"File({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, File) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
