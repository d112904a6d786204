"""The launcher interface (``interface-specs/launcher.md``)."""

from __future__ import annotations

import abc

from plait.interfaces.component import Component


class Launcher(Component, abc.ABC):
    """Wraps the command that starts workers so it runs on every node of a block."""

    @abc.abstractmethod
    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """Return the shell command line that runs ``command`` across the block."""
