"""The launcher kit, tested: a compliant dummy launcher (runs the copies in the background
with ``bash -c`` and waits for them) passes every requirement; for each requirement a
dummy that breaks exactly that requirement fails it and passes the others.

Each case runs the kit in-process with pytester and reads the verdicts from the kit's
JSON report. The ``mpi`` capability is checked against a stand-in ``mpi4py`` (on
``PYTHONPATH`` for the run) whose ``COMM_WORLD`` reads the rank and size the dummy
launcher exports; the dummies' ``mpi_launch`` prefix is a stand-in ``mpiexec`` in bash.
"""

from __future__ import annotations

import pytest

from . import kitrun
from .kitrun import Broken

KIT_REQUIREMENTS = tuple(f"LNC-{n:03d}" for n in (*range(1, 10), 101, 102, 103))
SPEC_VERSION = "0.2"

FAKE_MPI = '''
"""A stand-in for mpi4py.MPI: the rank and size come from the dummy launcher."""

import os


class _Comm:
    def Get_rank(self):
        return int(os.environ["KITFAKE_RANK"])

    def Get_size(self):
        return int(os.environ["KITFAKE_SIZE"])


COMM_WORLD = _Comm()
'''

DUMMIES = '''
"""Dummy launchers for the kit's own tests: one compliant, the rest each broken in one way."""

import shlex
from pathlib import Path

from plait.errors import ConfigError
from plait.interfaces import Launcher, MpiLaunch

FAKE_MPIEXEC = (
    '[ "$KITFAKE_ENV" = set ] || exit 66; n=$1; shift; pids=; '
    'for r in $(seq 0 $((n - 1))); do '
    'KITFAKE_RANK=$r KITFAKE_SIZE=$n "$@" & pids="$pids $!"; done; rc=0; '
    'for p in $pids; do wait $p; s=$?; [ $s -ne 0 ] && [ $rc -eq 0 ] && rc=$s; done; exit $rc'
)
"""A stand-in mpiexec (bash -c FAKE_MPIEXEC NAME N PROGRAM...): N ranks of PROGRAM, which
needs KITFAKE_ENV=set from the launch's env."""


class Compliant(Launcher):
    """Starts tasks_per_node * nodes_per_block copies of `bash -c COMMAND` in the
    background, waits for all of them and exits with the first failing status;
    mpi_launch gives the stand-in mpiexec."""

    capabilities = frozenset({"fan_out", "mpi"})
    maturity = "beta"

    def __call__(self, command, tasks_per_node, nodes_per_block):
        self.check(tasks_per_node, nodes_per_block)
        n = self.copies(tasks_per_node, nodes_per_block)
        start = self.copy(command, f"KITFAKE_RANK=$R KITFAKE_SIZE={n}")
        return (
            "PIDS=\\n"
            f"for R in $(seq 0 {n - 1}); do\\n"
            f"  {start}\\n"
            "done\\n" + self.wait()
        )

    def check(self, tasks_per_node, nodes_per_block):
        counts = {"tasks_per_node": tasks_per_node, "nodes_per_block": nodes_per_block}
        for name, value in counts.items():
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")

    def copies(self, tasks_per_node, nodes_per_block):
        return tasks_per_node * nodes_per_block

    def copy(self, command, env):
        return f"{env} bash -c {shlex.quote(command)} & PIDS=\\"$PIDS $!\\""

    def wait(self):
        return (
            "RC=0\\n"
            "for P in $PIDS; do\\n"
            "  wait $P; S=$?\\n"
            "  if [ $S -ne 0 ] && [ $RC -eq 0 ]; then RC=$S; fi\\n"
            "done\\n"
            "exit $RC\\n"
        )

    def mpi_launch(self, num_ranks, ranks_per_node, hosts):
        self.check_mpi(num_ranks, ranks_per_node, hosts)
        return MpiLaunch(self.mpiexec(num_ranks), {"KITFAKE_ENV": "set"})

    def check_mpi(self, num_ranks, ranks_per_node, hosts):
        for name, value in {"num_ranks": num_ranks, "ranks_per_node": ranks_per_node}.items():
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if not hosts:
            raise ConfigError("hosts must not be empty")
        if num_ranks > ranks_per_node * len(hosts):
            raise ConfigError(f"num_ranks={num_ranks} do not fit on the hosts")

    def mpiexec(self, num_ranks):
        return ("bash", "-c", FAKE_MPIEXEC, "fake-mpiexec", str(num_ranks))


class NoCapabilities(Compliant):
    """Compliant, but declares no capability."""

    capabilities = frozenset()


# --- LNC-001: building a line does nothing else -------------------------------------------


class TouchesAFile(Compliant):
    """Writes a marker file in the working directory whenever it builds a line."""

    def __call__(self, command, tasks_per_node, nodes_per_block):
        Path("launcher-was-here").touch()
        return super().__call__(command, tasks_per_node, nodes_per_block)


# --- LNC-002: counts below 1 are refused --------------------------------------------------


class AcceptsZeroCopies(Compliant):
    """Builds a line for zero (or fewer) copies, a block with no workers."""

    def check(self, tasks_per_node, nodes_per_block):
        pass


class CapsTheCopies(Compliant):
    """Refuses blocks of more than 8 copies."""

    def check(self, tasks_per_node, nodes_per_block):
        super().check(tasks_per_node, nodes_per_block)
        if tasks_per_node * nodes_per_block > 8:
            raise ConfigError("at most 8 copies")


# --- LNC-003: declared capabilities and maturity ------------------------------------------


class UnknownCapability(Compliant):
    """Declares a capability the launcher spec does not define."""

    capabilities = frozenset({"fan_out", "mpi", "teleport"})


# --- LNC-004: the command's text survives -------------------------------------------------


class NaiveQuoting(Compliant):
    """Puts the command in single quotes without escaping it."""

    def copy(self, command, env):
        return f"{env} bash -c \\'{command}\\' & PIDS=\\"$PIDS $!\\""


# --- LNC-005: working directory and environment -------------------------------------------


class ChangesDirectory(Compliant):
    """Runs the copies in /."""

    def copy(self, command, env):
        return f"cd / && {env} bash -c {shlex.quote(command)} & PIDS=\\"$PIDS $!\\""


# --- LNC-006: the line waits for every copy -----------------------------------------------


class ReturnsOnFirstFailure(Compliant):
    """Exits as soon as one copy fails, leaving the others running (each copy reports
    its status in a file; the line polls those)."""

    def __call__(self, command, tasks_per_node, nodes_per_block):
        n = self.copies(tasks_per_node, nodes_per_block)
        line = super().__call__(command, tasks_per_node, nodes_per_block)
        return f"D=$(mktemp -d); N={n}\\n{line}"

    def copy(self, command, env):
        report = 'echo $? > "$D/.$R" && mv "$D/.$R" "$D/$R"'
        return f"( {env} bash -c {shlex.quote(command)}; {report} ) & PIDS=\\"$PIDS $!\\""

    def wait(self):
        return (
            "while :; do\\n"
            "  DONE=0\\n"
            '  for F in "$D"/*; do\\n'
            '    [ -e "$F" ] || continue\\n'
            '    DONE=$((DONE+1)); S=$(cat "$F")\\n'
            '    if [ "$S" -ne 0 ]; then exit "$S"; fi\\n'
            "  done\\n"
            '  if [ "$DONE" -eq "$N" ]; then exit 0; fi\\n'
            "  sleep 0.01\\n"
            "done\\n"
        )


# --- LNC-007: exit status -----------------------------------------------------------------


class FailsOnlyWhenAllFail(Compliant):
    """Exits non-zero only when every copy failed (Parsl's fail_on_any=False)."""

    def wait(self):
        return (
            "OK=0; RC=0\\n"
            "for P in $PIDS; do if wait $P; then OK=1; else RC=$?; fi; done\\n"
            "if [ $OK -eq 1 ]; then exit 0; fi\\n"
            "exit $RC\\n"
        )


# --- LNC-008: the failing copies' status --------------------------------------------------


class ExitsWithOne(Compliant):
    """Exits with 1 whatever status the failing copies had."""

    def wait(self):
        return "RC=0\\nfor P in $PIDS; do wait $P || RC=1; done\\nexit $RC\\n"


# --- LNC-009: stdout and stderr -----------------------------------------------------------


class MergesStreams(Compliant):
    """Sends the copies' stderr to the line's stdout."""

    def copy(self, command, env):
        return f"{env} bash -c {shlex.quote(command)} 2>&1 & PIDS=\\"$PIDS $!\\""


# --- LNC-101 (fan_out) --------------------------------------------------------------------


class OneAfterAnother(Compliant):
    """Runs the copies one after another instead of at the same time."""

    def copy(self, command, env):
        return f"{env} bash -c {shlex.quote(command)} || FAILED=$?"

    def wait(self):
        return "exit ${FAILED:-0}\\n"


# --- LNC-102 (mpi) ------------------------------------------------------------------------


class EveryoneIsRankZero(Compliant):
    """Gives every copy rank 0."""

    def copy(self, command, env):
        return super().copy(command, env.replace("$R", "0"))


# --- LNC-103 (mpi: mpi_launch) ------------------------------------------------------------


class SeparateJobs(Compliant):
    """Starts the ranks as jobs of their own: each sees a COMM_WORLD of size 1."""

    def mpiexec(self, num_ranks):
        script = FAKE_MPIEXEC.replace("KITFAKE_SIZE=$n", "KITFAKE_SIZE=1")
        return ("bash", "-c", script, "fake-mpiexec", str(num_ranks))


class IgnoresFailedRanks(Compliant):
    """Its job exits with 0 whatever the ranks' statuses."""

    def mpiexec(self, num_ranks):
        script = FAKE_MPIEXEC.replace("exit $rc", "exit 0")
        return ("bash", "-c", script, "fake-mpiexec", str(num_ranks))


class AcceptsNoHosts(Compliant):
    """Returns a launch for an empty host list."""

    def check_mpi(self, num_ranks, ranks_per_node, hosts):
        super().check_mpi(num_ranks, ranks_per_node, hosts or ["nowhere"])
'''

KIT_MODULE = """
from plait.conformance.{module} import {kit}
from dummies import {cls}


class TestDummy({kit}):
    component_class = {cls}
    line_timeout = 3.0
    settle_window = 0.3
    max_nodes = 2
"""


BROKEN = [
    Broken("TouchesAFile", "LNC-001", ("test_call_returns_a_line_and_does_nothing_else",)),
    Broken("AcceptsZeroCopies", "LNC-002", ("test_invalid_counts_raise_config_error",)),
    Broken("CapsTheCopies", "LNC-002", ("test_counts_of_one_and_more_are_accepted",)),
    Broken("UnknownCapability", "LNC-003", ("test_declares_capabilities_and_maturity",)),
    Broken("NaiveQuoting", "LNC-004", ("test_command_text_survives",)),
    Broken(
        "ChangesDirectory",
        "LNC-005",
        ("test_copies_inherit_working_directory_and_environment",),
    ),
    Broken("ReturnsOnFirstFailure", "LNC-006", ("test_line_ends_after_every_copy",)),
    Broken(
        "FailsOnlyWhenAllFail",
        "LNC-007",
        ("test_exit_status_is_zero_only_when_every_copy_succeeds",),
    ),
    Broken("ExitsWithOne", "LNC-008", ("test_exit_status_of_the_failing_copies",)),
    Broken("MergesStreams", "LNC-009", ("test_copies_output_reaches_the_line",)),
    Broken("OneAfterAnother", "LNC-101", ("test_runs_one_copy_per_task_slot",)),
    Broken("EveryoneIsRankZero", "LNC-102", ("test_copies_are_the_ranks_of_one_mpi_job",)),
    Broken("SeparateJobs", "LNC-103", ("test_mpi_launch_starts_the_ranks_of_one_job",)),
    Broken("IgnoresFailedRanks", "LNC-103", ("test_mpi_launch_job_fails_when_a_rank_fails",)),
    Broken("AcceptsNoHosts", "LNC-103", ("test_mpi_launch_refuses_bad_counts_and_no_hosts",)),
]


def run_dummy(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    cls: str,
    *args: str,
    kit: str = "LauncherConformance",
    module: str = "launcher",
) -> kitrun.KitRun:
    """Run the launcher kit (``module:kit``) on dummy ``cls``, with pytest ``args`` and
    the stand-in ``mpi4py`` on ``PYTHONPATH``."""
    fake = pytester.path / "fakempi"
    (fake / "mpi4py").mkdir(parents=True, exist_ok=True)
    (fake / "mpi4py" / "__init__.py").write_text("")
    (fake / "mpi4py" / "MPI.py").write_text(FAKE_MPI)
    monkeypatch.setenv("PYTHONPATH", str(fake))
    test_module = KIT_MODULE.format(cls=cls, kit=kit, module=module)
    return kitrun.run_kit(
        pytester,
        dummies=DUMMIES,
        module=test_module,
        component=cls,
        kind="launcher",
        spec_version=SPEC_VERSION,
        args=args,
    )


def test_the_cases_cover_every_requirement_of_kit_and_spec() -> None:
    from plait.conformance.launcher import LauncherConformance

    kitrun.assert_cases_cover(LauncherConformance, BROKEN, KIT_REQUIREMENTS)


def test_compliant_dummy_passes_every_requirement(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_dummy(pytester, monkeypatch, "Compliant")
    kitrun.assert_compliant(
        run, KIT_REQUIREMENTS, passed=20, extended=("LNC-101", "LNC-102", "LNC-103")
    )


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: f"{c.requirement}-{c.dummy}")
def test_broken_dummy_fails_exactly_its_requirement(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, case: Broken
) -> None:
    kitrun.assert_only_broken(run_dummy(pytester, monkeypatch, case.dummy), case, KIT_REQUIREMENTS)


def test_undeclared_capabilities_skip_with_a_reason_naming_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_dummy(pytester, monkeypatch, "NoCapabilities")
    kitrun.assert_capability_skips(
        run, KIT_REQUIREMENTS, {"LNC-101": "fan_out", "LNC-102": "mpi", "LNC-103": "mpi"}
    )


def test_mpi_test_skips_without_mpi4py(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = pytester.mkdir("nompi")
    (blocker / "mpi4py.py").write_text("raise ImportError('no mpi4py here')\n")
    monkeypatch.setenv("PYTHONPATH", str(blocker))
    module = KIT_MODULE.format(cls="Compliant", kit="LauncherConformance", module="launcher")
    run = kitrun.run_kit(
        pytester,
        dummies=DUMMIES,
        module=module,
        component="Compliant",
        kind="launcher",
        spec_version=SPEC_VERSION,
        args=("-rs", "-k", "mpi_job or mpi_launch or declares"),
    )
    # the ConfigError tests of mpi_launch (4) run no MPI program
    run.result.assert_outcomes(passed=5, skipped=3)
    run.result.stdout.fnmatch_lines(["*mpi4py is not importable by this Python*"])


def test_scheduler_variant_moves_line_tests_to_the_integration_tier(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_dummy(
        pytester, monkeypatch, "Compliant", kit="SchedulerLauncherConformance", module="scheduler"
    )
    built = ("LNC-001", "LNC-002", "LNC-003")
    # LNC-103's ConfigError tests (4) stay in the extended tier; its tests that run
    # MPI jobs (listed first in the report) move
    assert run.tiers() == {
        **dict.fromkeys(KIT_REQUIREMENTS, "integration"),
        **dict.fromkeys(built, "core"),
    }
    assert run.statuses() == {
        **dict.fromkeys(KIT_REQUIREMENTS, "skip"),
        **dict.fromkeys((*built, "LNC-103"), "pass"),
    }
    assert {t: s for t, s in run.tests("LNC-103").items() if s == "skip"} == {
        "test_mpi_launch_job_fails_when_a_rank_fails": "skip",
        "test_mpi_launch_starts_the_ranks_of_one_job": "skip",
    }
    assert run.outcomes == {"passed": 10, "skipped": 10}

    run = run_dummy(
        pytester,
        monkeypatch,
        "Compliant",
        "--plait-integration",
        kit="SchedulerLauncherConformance",
        module="scheduler",
    )
    assert run.statuses() == dict.fromkeys(KIT_REQUIREMENTS, "pass")
    assert run.outcomes == {"passed": 20}
