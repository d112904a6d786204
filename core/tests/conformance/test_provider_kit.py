"""The provider kit, tested: a compliant dummy provider (blocks are local process groups)
passes every requirement; for each requirement a dummy that breaks exactly that
requirement fails it and passes the others.

Each case runs the kit in-process with pytester, with short kit timeouts, and reads the
verdicts from the kit's JSON report.
"""

from __future__ import annotations

import pytest

from . import kitrun
from .kitrun import Broken

KIT_REQUIREMENTS = tuple(f"PRV-{n:03d}" for n in (*range(1, 14), 101, 102))

DUMMIES = '''
"""Dummy providers for the kit's own tests: one compliant, the rest each broken in one way."""

import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from plait.errors import ConfigError, ResourceSpecificationError
from plait.interfaces import ExecutionProvider, JobState, JobStatus, parse_walltime

LEAKED = []


class Job:
    def __init__(self, proc, out, err):
        self.proc = proc
        self.out = out
        self.err = err
        self.state = JobState.RUNNING
        self.exit_code = None


class Compliant(ExecutionProvider):
    """Blocks are local process groups running `bash SCRIPT` (under `timeout` when a
    walltime is set); cancel kills the group."""

    capabilities = frozenset({"walltime", "std_streams"})
    maturity = "beta"

    def __init__(
        self,
        label="dummy",
        init_blocks=1,
        min_blocks=0,
        max_blocks=1,
        nodes_per_block=1,
        status_polling_interval=1.0,
        walltime=None,
    ):
        self.check_options(
            init_blocks=init_blocks,
            min_blocks=min_blocks,
            max_blocks=max_blocks,
            nodes_per_block=nodes_per_block,
            status_polling_interval=status_polling_interval,
        )
        self.label = label
        self.init_blocks = init_blocks
        self.min_blocks = min_blocks
        self.max_blocks = max_blocks
        self.nodes_per_block = nodes_per_block
        self.status_polling_interval = status_polling_interval
        try:
            self.walltime = None if walltime is None else parse_walltime(walltime)
        except ResourceSpecificationError as exc:
            raise ConfigError(f"invalid walltime: {exc.message}") from None
        self._lock = threading.RLock()
        self._jobs = {}
        self._count = 0
        self._own_dir = None

    def check_options(self, **options):
        for name in ("init_blocks", "min_blocks", "max_blocks"):
            if options[name] < 0:
                raise ConfigError(f"{name} must not be negative, got {options[name]}")
        if options["min_blocks"] > options["max_blocks"]:
            raise ConfigError("min_blocks is larger than max_blocks")
        if options["nodes_per_block"] < 1:
            raise ConfigError("nodes_per_block must be at least 1")
        if options["status_polling_interval"] <= 0:
            raise ConfigError("status_polling_interval must be positive")

    # --- submit ---

    def new_job_id(self):
        self._count += 1
        return f"dummy-{self._count}"

    def directory(self):
        if self.script_dir:
            return Path(self.script_dir)
        if self._own_dir is None:
            self._own_dir = tempfile.mkdtemp(prefix="dummy-provider-")
        return Path(self._own_dir)

    def script_path(self, directory, name):
        return directory / f"{name}.sh"

    def launch_args(self, script):
        args = ["bash", str(script)]
        if self.walltime is not None:
            args = ["timeout", "-k", "1", str(self.walltime), *args]
        return args

    def submit(self, command, tasks_per_node, job_name="plait.block"):
        with self._lock:
            job_id = self.new_job_id()
        name = job_id.strip()
        directory = self.directory()
        script = self.script_path(directory, name)
        script.write_text(command + "\\n")
        out, err = directory / f"{name}.out", directory / f"{name}.err"
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            proc = subprocess.Popen(
                self.launch_args(script),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                cwd=directory,
                start_new_session=True,
            )
        with self._lock:
            self._jobs[job_id] = Job(proc, str(out), str(err))
        return job_id

    # --- status ---

    def status(self, job_ids):
        return [self.status_of(job_id) for job_id in job_ids]

    def status_of(self, job_id):
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return self.unknown_status(job_id)
            self.refresh(job)
            return self.report(job)

    def unknown_status(self, job_id):
        return JobStatus(JobState.MISSING, message=f"no job {job_id}")

    def report(self, job):
        return JobStatus(
            job.state, exit_code=job.exit_code, stdout_path=job.out, stderr_path=job.err
        )

    def refresh(self, job):
        if job.state.terminal:
            return
        code = job.proc.poll()
        if code is None:
            return
        if self.walltime is not None and code == 124:
            job.state = JobState.TIMEOUT
        else:
            job.state = self.exit_state(code)
            job.exit_code = self.exit_code(code)
        self.end_strays(job)

    def exit_state(self, code):
        return JobState.COMPLETED if code == 0 else JobState.FAILED

    def exit_code(self, code):
        return code

    def end_strays(self, job):
        self.killpg(job)

    @staticmethod
    def killpg(job):
        try:
            os.killpg(job.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    # --- cancel ---

    def cancel(self, job_ids):
        result = []
        with self._lock:
            for job_id in job_ids:
                job = self._jobs.get(job_id)
                if job is None:
                    result.append(False)
                    continue
                self.refresh(job)
                if job.state.terminal:
                    result.append(False)
                    continue
                self.kill_block(job)
                job.proc.wait()
                job.state = JobState.CANCELLED
                result.append(True)
        return result

    def kill_block(self, job):
        self.killpg(job)


class NoCapabilities(Compliant):
    """Compliant, but declares no capability."""

    capabilities = frozenset()


# --- PRV-001: construction validates options ----------------------------------------------


class AcceptsAnything(Compliant):
    """Validates none of the common options."""

    def check_options(self, **options):
        pass


# --- PRV-002: label and option attributes -------------------------------------------------


class IgnoresMaxBlocks(Compliant):
    """Keeps max_blocks at 1 whatever it is given."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.max_blocks = 1


# --- PRV-003: declared capabilities and maturity ------------------------------------------


class UnknownCapability(Compliant):
    """Declares a capability the provider spec does not define."""

    capabilities = frozenset({"walltime", "std_streams", "teleport"})


class UnknownMaturity(Compliant):
    """Declares a maturity level that does not exist."""

    maturity = "experimental"


# --- PRV-004: submit returns a clean, new job id ------------------------------------------


class RawSubmitOutput(Compliant):
    """Returns the job id with the newline of a submit command's output."""

    def new_job_id(self):
        return super().new_job_id() + "\\n"


# --- PRV-005: status shape and unknown ids ------------------------------------------------


class RaisesForUnknownIds(Compliant):
    """status() raises KeyError for an id it does not know."""

    def unknown_status(self, job_id):
        raise KeyError(job_id)


class UnknownIsCompleted(Compliant):
    """Reports ids it does not know as COMPLETED (as Parsl's Slurm provider once did)."""

    def unknown_status(self, job_id):
        return JobStatus(JobState.COMPLETED)


# --- PRV-006: RUNNING, then COMPLETED on exit status 0 ------------------------------------


class FailedOnSuccess(Compliant):
    """Reports every block that exits on its own as FAILED."""

    def exit_state(self, code):
        return JobState.FAILED


# --- PRV-007: FAILED on a non-zero exit status --------------------------------------------


class CompletedOnFailure(Compliant):
    """Reports every block that exits on its own as COMPLETED."""

    def exit_state(self, code):
        return JobState.COMPLETED


# --- PRV-008: exit_code -------------------------------------------------------------------


class NoExitCode(Compliant):
    """Never reports an exit code."""

    def exit_code(self, code):
        return None


# --- PRV-009: cancel ends the whole block -------------------------------------------------


class CancelKillsOnlyTheLeader(Compliant):
    """Kills the block's first process, not its process group."""

    def kill_block(self, job):
        job.proc.kill()


class CancelSaysYesToAnything(Compliant):
    """Returns True for every id, unknown or ended ones too."""

    def cancel(self, job_ids):
        super().cancel(job_ids)
        return [True] * len(job_ids)


# --- PRV-010: concurrent calls ------------------------------------------------------------


class NotThreadSafe(Compliant):
    """submit() fails when another thread is submitting too."""

    busy = False

    def submit(self, command, tasks_per_node, job_name="plait.block"):
        if self.busy:
            raise RuntimeError("submit() called while another submit() runs")
        self.busy = True
        try:
            time.sleep(0.05)
            return super().submit(command, tasks_per_node, job_name)
        finally:
            self.busy = False


# --- PRV-011: nothing left once blocks end ------------------------------------------------


class LeaksAHelper(Compliant):
    """Starts a helper process with its first block and never ends it."""

    def submit(self, command, tasks_per_node, job_name="plait.block"):
        if not LEAKED or LEAKED[-1][0] is not self:
            LEAKED.append((self, subprocess.Popen(["sleep", "3"])))
        return super().submit(command, tasks_per_node, job_name)


# --- PRV-012: background processes end with the block -------------------------------------


class LeavesStrays(Compliant):
    """Leaves what a block's command started in the background running."""

    def end_strays(self, job):
        pass


# --- PRV-013: files stay in script_dir ----------------------------------------------------


class ScriptsInWorkingDirectory(Compliant):
    """Writes submit scripts to the current working directory."""

    def script_path(self, directory, name):
        return Path.cwd() / f"{name}.sh"


# --- PRV-101 (walltime) -------------------------------------------------------------------


class IgnoresWalltime(Compliant):
    """Accepts a walltime and never enforces it."""

    def launch_args(self, script):
        return ["bash", str(script)]


class WalltimeOnlyWhenPolled(Compliant):
    """Ends a block past its walltime only when status() looks at it."""

    def launch_args(self, script):
        return ["bash", str(script)]

    def submit(self, command, tasks_per_node, job_name="plait.block"):
        job_id = super().submit(command, tasks_per_node, job_name)
        if self.walltime is not None:
            self._jobs[job_id].deadline = time.monotonic() + self.walltime
        return job_id

    def refresh(self, job):
        deadline = getattr(job, "deadline", None)
        overdue = deadline is not None and time.monotonic() > deadline
        if not job.state.terminal and job.proc.poll() is None and overdue:
            self.killpg(job)
            job.proc.wait()
            job.state = JobState.TIMEOUT
            return
        super().refresh(job)


# --- PRV-102 (std_streams) ----------------------------------------------------------------


class NoStderrPath(Compliant):
    """Reports where stdout went, not stderr."""

    def report(self, job):
        return JobStatus(job.state, exit_code=job.exit_code, stdout_path=job.out)
'''

KIT_MODULE = """
from plait.conformance.{module} import {kit}
from dummies import {cls}


class TestDummy({kit}):
    component_class = {cls}
    block_timeout = 10.0
    poll_interval = 0.02
    walltime_seconds = 1.0
    walltime_grace = 3.0
    settle_timeout = 1.5
    many_blocks = 8
"""


BROKEN = [
    Broken("AcceptsAnything", "PRV-001", ("test_invalid_options_raise_config_error",)),
    Broken("IgnoresMaxBlocks", "PRV-002", ("test_label_and_block_options",)),
    Broken("UnknownCapability", "PRV-003", ("test_declares_capabilities_and_maturity",)),
    Broken("UnknownMaturity", "PRV-003", ("test_declares_capabilities_and_maturity",)),
    Broken("RawSubmitOutput", "PRV-004", ("test_submit_returns_a_job_id_without_waiting",)),
    Broken(
        "RaisesForUnknownIds",
        "PRV-005",
        ("test_status_of_no_ids_and_unknown_ids", "test_status_keeps_the_order_of_ids"),
    ),
    Broken(
        "UnknownIsCompleted",
        "PRV-005",
        ("test_status_of_no_ids_and_unknown_ids", "test_status_keeps_the_order_of_ids"),
    ),
    Broken("FailedOnSuccess", "PRV-006", ("test_running_then_completed",)),
    Broken("CompletedOnFailure", "PRV-007", ("test_nonzero_exit_is_failed",)),
    Broken("NoExitCode", "PRV-008", ("test_exit_code_is_reported",)),
    Broken("CancelKillsOnlyTheLeader", "PRV-009", ("test_cancel_ends_the_whole_block",)),
    Broken("CancelSaysYesToAnything", "PRV-009", ("test_cancel_of_unknown_and_ended_blocks",)),
    Broken("NotThreadSafe", "PRV-010", ("test_many_blocks_from_many_threads",)),
    Broken("LeaksAHelper", "PRV-011", ("test_nothing_left_once_blocks_end",)),
    Broken("LeavesStrays", "PRV-012", ("test_background_processes_end_with_the_block",)),
    Broken("ScriptsInWorkingDirectory", "PRV-013", ("test_files_stay_in_script_dir",)),
    Broken("IgnoresWalltime", "PRV-101", ("test_walltime_ends_the_whole_block",)),
    Broken("WalltimeOnlyWhenPolled", "PRV-101", ("test_walltime_ends_the_whole_block",)),
    Broken("NoStderrPath", "PRV-102", ("test_status_names_the_output_files",)),
]


def run_dummy(
    pytester: pytest.Pytester,
    cls: str,
    *args: str,
    kit: str = "ProviderConformance",
    module: str = "provider",
) -> kitrun.KitRun:
    """Run the provider kit (``module:kit``) on dummy ``cls``, with pytest ``args``."""
    test_module = KIT_MODULE.format(cls=cls, kit=kit, module=module)
    return kitrun.run_kit(
        pytester, dummies=DUMMIES, module=test_module, component=cls, kind="provider", args=args
    )


def test_the_cases_cover_every_requirement_of_kit_and_spec() -> None:
    from plait.conformance.provider import ProviderConformance

    kitrun.assert_cases_cover(ProviderConformance, BROKEN, KIT_REQUIREMENTS)


def test_compliant_dummy_passes_every_requirement(pytester: pytest.Pytester) -> None:
    run = run_dummy(pytester, "Compliant")
    kitrun.assert_compliant(run, KIT_REQUIREMENTS, passed=24, extended=("PRV-101", "PRV-102"))


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: f"{c.requirement}-{c.dummy}")
def test_broken_dummy_fails_exactly_its_requirement(
    pytester: pytest.Pytester, case: Broken
) -> None:
    kitrun.assert_only_broken(run_dummy(pytester, case.dummy), case, KIT_REQUIREMENTS)


def test_undeclared_capabilities_skip_with_a_reason_naming_them(
    pytester: pytest.Pytester,
) -> None:
    run = run_dummy(pytester, "NoCapabilities")
    skipped = {"PRV-101": "walltime", "PRV-102": "std_streams"}
    kitrun.assert_capability_skips(run, KIT_REQUIREMENTS, skipped)


def test_scheduler_variant_moves_block_tests_to_the_integration_tier(
    pytester: pytest.Pytester,
) -> None:
    run = run_dummy(pytester, "Compliant", kit="SchedulerProviderConformance", module="scheduler")
    tiers = run.tiers()
    assert tiers == {
        **dict.fromkeys(KIT_REQUIREMENTS, "integration"),
        "PRV-001": "core",
        "PRV-002": "core",
        "PRV-003": "core",
        "PRV-101": tiers["PRV-101"],
    }
    # PRV-101's option test stays extended, its block test is integration
    assert tiers["PRV-101"] in ("extended", "integration")
    assert run.statuses() == {
        **dict.fromkeys(KIT_REQUIREMENTS, "skip"),
        "PRV-001": "pass",
        "PRV-002": "pass",
        "PRV-003": "pass",
        "PRV-101": "pass",
    }
    assert run.requirements["PRV-004"]["reason"] == "integration tier: run with --plait-integration"
    assert run.outcomes == {"passed": 10, "skipped": 14}

    run = run_dummy(
        pytester,
        "Compliant",
        "--plait-integration",
        kit="SchedulerProviderConformance",
        module="scheduler",
    )
    assert run.statuses() == dict.fromkeys(KIT_REQUIREMENTS, "pass")
    assert run.outcomes == {"passed": 24}
