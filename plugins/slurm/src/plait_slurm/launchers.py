"""The launchers ``srun`` and ``srun-mpi``: a launch line that runs the command in
every task slot of a Slurm allocation (``interface-specs/launcher.md``).

Both run ``srun --nodes=N --ntasks-per-node=T --ntasks=N*T ... bash -c COMMAND``
inside the block's job, so Slurm starts the copies on every node, passes them the
line's working directory and environment, waits for all of them (``--kill-on-bad-exit=0``:
one failing copy does not end the others) and exits with the largest status among
them. The copies get ``SLURM_PROCID`` (0 to N*T - 1). The step asks for the CPUs per
task of the job (``SLURM_CPUS_PER_TASK``), which ``srun`` no longer inherits by itself.

``srun-mpi`` also starts MPI apps (:meth:`SrunMPILauncher.mpi_launch`, LNC-103) with an
``srun`` step of their own, run from a worker inside the block's job.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Sequence
from typing import ClassVar

import attrs

from plait.errors import MpiLaunchError
from plait.interfaces import Launcher, MpiLaunch
from plait.providers import check_counts, mpi_host_slots
from plait.validators import shell_words, text

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

    overrides: str = attrs.field(default="", validator=shell_words())

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
    options. Capabilities ``fan_out`` (LNC-101) and ``mpi`` (LNC-102, LNC-103)."""

    mpi: str = attrs.field(default="pmi2", validator=text())
    overrides: str = attrs.field(default="", validator=shell_words())

    capabilities: ClassVar[frozenset[str]] = frozenset({"fan_out", "mpi"})
    maturity = "alpha"
    conformance_kit = _KIT

    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """``srun --mpi=MPI ... bash -c COMMAND`` for the ranks of one MPI job."""
        check_counts(type(self).__name__, tasks_per_node, nodes_per_block)
        return _srun_line(self.mpi, self.overrides, command, tasks_per_node, nodes_per_block)

    def mpi_launch(self, num_ranks: int, ranks_per_node: int, hosts: Sequence[str]) -> MpiLaunch:
        """``srun --ntasks=R --ntasks-per-node=T --nodes=N --nodelist=HOSTS --mpi=MPI
        --kill-on-bad-exit=1 --overlap --overcommit [OVERRIDES]`` for ``num_ranks`` ranks
        on ``hosts`` (LNC-103), run inside the job that holds them.

        Each host is named once (a host given k times takes k * ``ranks_per_node``
        ranks), and only the first hosts that the ranks fill. ``--overlap``: the caller
        is usually a worker inside the block's own job step, whose CPUs a new step
        would otherwise wait for until that step ends. ``--overcommit``: the step
        starts even when the job has fewer CPUs than ranks (Slurm otherwise refuses,
        "More processors requested than permitted"); with enough CPUs the step still
        gets one per rank. A missing ``srun`` raises
        :class:`~plait.errors.MpiLaunchError`."""
        slots = mpi_host_slots(type(self).__name__, num_ranks, ranks_per_node, hosts)
        used, filled = [], 0
        for host, n in slots.items():
            if filled >= num_ranks:
                break
            used.append(host)
            filled += n
        if shutil.which("srun") is None:
            raise MpiLaunchError(
                f"srun, which the srun-mpi launcher starts MPI jobs with, is not on PATH "
                f"({os.environ.get('PATH', '')})",
                hint="run the MPI task where Slurm's commands are installed (inside a "
                'Slurm job), or use the "mpiexec" or "mpirun" launcher',
                executable="srun",
            )
        prefix = [
            "srun",
            f"--ntasks={num_ranks}",
            f"--ntasks-per-node={max(slots[host] for host in used)}",
            f"--nodes={len(used)}",
            f"--nodelist={','.join(used)}",
            f"--mpi={self.mpi}",
            "--kill-on-bad-exit=1",
            "--overlap",
            "--overcommit",
            *shlex.split(self.overrides),
        ]
        return MpiLaunch(tuple(prefix))
