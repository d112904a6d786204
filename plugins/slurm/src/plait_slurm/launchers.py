"""The launchers ``srun`` and ``srun-mpi``: a launch line that runs the command in
every task slot of a Slurm allocation (``interface-specs/launcher.md``).

Both run ``srun --nodes=N --ntasks-per-node=T --ntasks=N*T ... bash -c COMMAND``
inside the block's job, so Slurm starts the copies on every node, passes them the
line's working directory and environment, waits for all of them (``--kill-on-bad-exit=0``:
one failing copy does not end the others) and exits with the largest status among
them. The copies get ``SLURM_PROCID`` (0 to N*T - 1). The step asks for the CPUs per
task of the job (``SLURM_CPUS_PER_TASK``), which ``srun`` no longer inherits by itself.
"""

from __future__ import annotations

import shlex
from typing import ClassVar

import attrs

from plait.interfaces import Launcher
from plait.providers import check_counts
from plait.validators import text

_KIT = "plait.conformance.scheduler:SchedulerLauncherConformance"
"""The kit variant whose line-running tests need an allocation (integration tier)."""
_CPUS = "${SLURM_CPUS_PER_TASK:+--cpus-per-task=$SLURM_CPUS_PER_TASK}"


def _srun_line(mpi: str, overrides: str, command: str, tasks_per_node: int, nodes: int) -> str:
    options = [
        f"--nodes={nodes}",
        f"--ntasks-per-node={tasks_per_node}",
        f"--ntasks={tasks_per_node * nodes}",
        "--kill-on-bad-exit=0",
        f"--mpi={shlex.quote(mpi)}",
    ]
    extra = f" {overrides.strip()}" if overrides.strip() else ""
    body = command if command.strip() else ":"
    return f"srun {' '.join(options)} {_CPUS}{extra} bash -c {shlex.quote(body)}"


@attrs.frozen
class SrunLauncher(Launcher):
    """One copy of the command per task slot of the allocation, started by ``srun`` as
    independent tasks (``--mpi=none``). ``overrides`` adds ``srun`` options (for
    example ``"--cpu-bind=none"``). Capability ``fan_out`` (LNC-101)."""

    overrides: str = attrs.field(default="", validator=text())

    capabilities: ClassVar[frozenset[str]] = frozenset({"fan_out"})
    maturity = "alpha"
    conformance_kit = _KIT

    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """``srun ... bash -c COMMAND`` for ``tasks_per_node * nodes_per_block`` copies."""
        check_counts(type(self).__name__, tasks_per_node, nodes_per_block)
        return _srun_line("none", self.overrides, command, tasks_per_node, nodes_per_block)


@attrs.frozen
class SrunMPILauncher(Launcher):
    """The copies are the ranks of one MPI job: ``srun --mpi=MPI`` wires them up through
    Slurm's PMI plugin ``mpi`` (default ``pmi2``, which MPICH uses; ``pmix`` for Open
    MPI where Slurm has it, see ``srun --mpi=list``). ``overrides`` adds ``srun``
    options. Capabilities ``fan_out`` (LNC-101) and ``mpi`` (LNC-102)."""

    mpi: str = attrs.field(default="pmi2", validator=text())
    overrides: str = attrs.field(default="", validator=text())

    capabilities: ClassVar[frozenset[str]] = frozenset({"fan_out", "mpi"})
    maturity = "alpha"
    conformance_kit = _KIT

    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """``srun --mpi=MPI ... bash -c COMMAND`` for the ranks of one MPI job."""
        check_counts(type(self).__name__, tasks_per_node, nodes_per_block)
        return _srun_line(self.mpi, self.overrides, command, tasks_per_node, nodes_per_block)
