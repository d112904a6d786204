"""Helpers for provider and launcher plugins: the common block options, where block
files go, and the launch counts.

Every provider checks ``min_blocks <= max_blocks`` the same way
(:func:`check_block_counts`) and writes a block's script, stdout and stderr as
``<directory>/<job_name>.<n>.{sh,stdout,stderr}`` (:class:`BlockFiles`), where the
directory is the ``script_dir`` its executor set, else a temporary directory of its own
(``interface-specs/provider.md``, PRV-013).
"""

from __future__ import annotations

import re
import tempfile
import threading
from pathlib import Path
from typing import Any

import attrs

from plait.errors import ConfigError
from plait.interfaces.launcher import Launcher
from plait.interfaces.provider import ExecutionProvider


def check_block_counts(provider: ExecutionProvider) -> None:
    """Raise :class:`~plait.errors.ConfigError` when ``min_blocks > max_blocks``."""
    if provider.min_blocks > provider.max_blocks:
        raise ConfigError(
            f"{type(provider).__name__}: min_blocks={provider.min_blocks} is larger than "
            f"max_blocks={provider.max_blocks}",
            hint="min_blocks must not be larger than max_blocks",
            option="min_blocks",
        )


def check_counts(owner: str, tasks_per_node: int, nodes_per_block: int) -> None:
    """Raise :class:`~plait.errors.ConfigError` naming the count that is not an integer
    of at least 1 (LNC-002)."""
    for name, value in (("tasks_per_node", tasks_per_node), ("nodes_per_block", nodes_per_block)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"{owner}: {name}={value!r} must be an integer >= 1",
                hint=f"ask for at least one {'task per node' if name[0] == 't' else 'node'}",
                option=name,
            )


def safe_name(name: str) -> str:
    """``name`` as a file-name part: word characters, dots and dashes, at most 64."""
    return re.sub(r"[^\w.-]", "_", name)[:64] or "block"


@attrs.frozen
class BlockPaths:
    """The files of one block."""

    script: Path
    stdout: Path
    stderr: Path


@attrs.define(eq=False)
class BlockFiles:
    """Names the files of a provider's blocks, numbering them ``1``, ``2``, ...

    ``prefix`` names the temporary directory used while the provider has no
    ``script_dir`` (``plait-<prefix>-<label>-*`` under ``$TMPDIR``, left in place so that
    its files can be read). Thread-safe.
    """

    provider: ExecutionProvider
    prefix: str
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    _count: int = attrs.field(default=0, init=False)
    _own_dir: str | None = attrs.field(default=None, init=False)

    def directory(self) -> Path:
        """``script_dir`` (created when missing), else the provider's own directory."""
        if self.provider.script_dir is not None:
            directory = Path(self.provider.script_dir)
            directory.mkdir(parents=True, exist_ok=True)
            return directory
        with self._lock:
            if self._own_dir is None:
                label = safe_name(self.provider.label)
                self._own_dir = tempfile.mkdtemp(prefix=f"plait-{self.prefix}-{label}-")
            return Path(self._own_dir)

    def next(self, job_name: str, tag: str = "", suffix: str = ".sh") -> tuple[int, BlockPaths]:
        """A new block number ``n`` and the paths ``<job_name>.<tag><n><suffix>``,
        ``.stdout`` and ``.stderr``."""
        directory = self.directory()
        with self._lock:
            self._count += 1
            number = self._count
        stem = directory / f"{safe_name(job_name)}.{tag}{number}"
        return number, BlockPaths(
            Path(f"{stem}{suffix}"), Path(f"{stem}.stdout"), Path(f"{stem}.stderr")
        )


def launcher_option(value: Any) -> Launcher:
    """An attrs converter for a provider's ``launcher`` option: a launcher instance, the
    name of an installed launcher (``"srun"``), or a table with ``kind`` and the
    launcher's options; anything else raises :class:`~plait.errors.ConfigError` naming
    ``launcher``."""
    from plait.config.config import component_option

    convert = component_option(
        "launcher",
        Launcher,
        "provider",
        "launcher",
        example='launcher = "single-node" or launcher = {kind = "wrapped", prepend = "..."}',
    )
    launcher: Launcher = convert(value)
    return launcher
