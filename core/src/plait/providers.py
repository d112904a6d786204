"""Helpers for provider and launcher plugins: the common block options, where block
files go, the launch counts and the hosts of an MPI job.

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
from collections.abc import Sequence
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


_HOST_NAME = re.compile(r"[^\s,:]+")
"""A host name as MPI launchers take it in lists: no spaces, commas or colons."""


def mpi_host_slots(
    owner: str, num_ranks: int, ranks_per_node: int, hosts: Sequence[str]
) -> dict[str, int]:
    """Check the arguments of :meth:`~plait.interfaces.Launcher.mpi_launch` (LNC-103)
    and return each distinct host, in the order first given, with the ranks it may take:
    ``ranks_per_node`` times the number of its entries (a local block's three "nodes"
    ``[h, h, h]`` give ``{h: 3 * ranks_per_node}``).

    Raises :class:`~plait.errors.ConfigError` naming ``num_ranks`` or ``ranks_per_node``
    when it is not an integer of at least 1, ``hosts`` when it is empty or holds
    something other than a host name, and ``num_ranks`` when the hosts cannot take
    that many ranks."""
    for name, value in (("num_ranks", num_ranks), ("ranks_per_node", ranks_per_node)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"{owner}: {name}={value!r} must be an integer >= 1",
                hint="an MPI job has at least one rank, and each node at least one",
                option=name,
            )
    if isinstance(hosts, str) or not hosts:
        raise ConfigError(
            f"{owner}: hosts={hosts!r} must be a non-empty list of host names",
            hint="give one host name per node of the MPI job",
            option="hosts",
        )
    slots: dict[str, int] = {}
    for host in hosts:
        if not isinstance(host, str) or not _HOST_NAME.fullmatch(host):
            raise ConfigError(
                f"{owner}: hosts holds {host!r}, which is not a host name",
                hint="host names have no spaces, commas or colons",
                option="hosts",
            )
        slots[host] = slots.get(host, 0) + ranks_per_node
    if num_ranks > ranks_per_node * len(hosts):
        raise ConfigError(
            f"{owner}: num_ranks={num_ranks} is more than ranks_per_node={ranks_per_node} "
            f"on each of the {len(hosts)} hosts",
            hint="ask for fewer ranks, more ranks per node or more nodes",
            option="num_ranks",
        )
    return slots


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
