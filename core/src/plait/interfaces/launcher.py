"""The launcher interface (``interface-specs/launcher.md``)."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence

import attrs

from plait.errors import CapabilityError
from plait.interfaces.component import Component


@attrs.frozen
class MpiLaunch:
    """How to start one MPI job (LNC-103): ``prefix`` is the argument list that goes
    before the program (``["mpiexec", "-n", "4", ...]``), ``env`` the variables to add
    to the environment the prefix runs in (``MPI4PY_LIBMPI``, Open MPI's run-as-root
    settings)."""

    prefix: tuple[str, ...]
    env: Mapping[str, str] = attrs.field(factory=dict)


class Launcher(Component, abc.ABC):
    """Wraps the command that starts workers so it runs on every node of a block.

    The contract is ``interface-specs/launcher.md``; the ids below are its requirements.
    ``capabilities`` may hold ``fan_out`` (LNC-101: exactly ``tasks_per_node *
    nodes_per_block`` concurrent copies of the command) and ``mpi`` (LNC-102: the copies
    are the ranks of one MPI job; LNC-103: :meth:`mpi_launch` starts MPI apps) (LNC-003).
    A launcher is stateless after construction, so it may be called from any thread.
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

    def mpi_launch(self, num_ranks: int, ranks_per_node: int, hosts: Sequence[str]) -> MpiLaunch:
        """How to start ``num_ranks`` ranks of a program as one MPI job on ``hosts`` (one
        entry per node, in order), at most ``ranks_per_node`` on each (capability
        ``mpi``, LNC-103). It may run the MPI's ``--version`` to check the installation
        (raising :class:`~plait.errors.MpiLaunchError` when it is missing or of another
        flavor), and starts nothing else. Launchers without ``mpi`` raise
        :class:`~plait.errors.CapabilityError`."""
        raise CapabilityError(
            f"launcher {type(self).__name__} cannot start MPI jobs (no 'mpi' capability)",
            hint='use an MPI launcher such as "mpiexec", "mpirun" or "srun-mpi"',
            capability="mpi",
        )
