"""The launcher interface (``interface-specs/launcher.md``)."""

from __future__ import annotations

import abc

from plait.interfaces.component import Component


class Launcher(Component, abc.ABC):
    """Wraps the command that starts workers so it runs on every node of a block.

    The contract is ``interface-specs/launcher.md``; the ids below are its requirements.
    ``capabilities`` may hold ``fan_out`` (LNC-101: exactly ``tasks_per_node *
    nodes_per_block`` concurrent copies of the command) and ``mpi`` (LNC-102: the copies
    are the ranks of one MPI job) (LNC-003). A launcher is stateless after construction,
    so it may be called from any thread.
    """

    @abc.abstractmethod
    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """Return the shell command line that runs ``command`` across the block.

        The line is a bash command line; building it starts nothing and writes nothing
        (LNC-001). Counts below 1 raise :class:`~plait.errors.ConfigError` naming the
        argument (LNC-002). When run, every copy runs ``command`` exactly as written
        (LNC-004), in the line's working directory and environment (LNC-005); the line
        ends only after every copy has ended (LNC-006), exits 0 only when every copy did
        (LNC-007), with the copies' status when they agree (LNC-008), and passes their
        stdout and stderr through separately (LNC-009).
        """
