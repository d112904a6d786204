"""PSIJProvider beyond the conformance kit: option checks, the mapping of options onto
the PSI/J objects and the submit scripts PSI/J renders from them, state translation, the
Slurm queue parser, PSI/J's threads, and (tests marked ``plait_integration``) what the
real single-node Slurm of ``tests/infra/slurm.sh`` does with the provider's blocks."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from plait.errors import ConfigError, SchedulerCommandError
from plait.interfaces import JobState, JobStatus
from plait.plugins import registry
from plait.providers import BlockPaths
from plait_psij import PSIJProvider, backend, guard, threads
from plait_psij.jobspec import BlockRequest, job_spec
from plait_psij.squeue import SqueueStatus
from plait_psij.states import translate

pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")
"""Plait launchers by name pass the maturity gate, which warns about alpha ones."""

FAST_SLURM = {"queue_polling_interval": 1, "initial_queue_polling_delay": 0.5}
"""PSI/J Slurm executor options that poll ``squeue`` every second (tests only)."""


def config_error(options: dict[str, Any]) -> ConfigError:
    """The ConfigError constructing a provider with ``options`` raises."""
    with pytest.raises(ConfigError) as info:
        PSIJProvider(**options)
    return info.value


def wait_for(
    provider: PSIJProvider, job_id: str, wanted: Callable[[JobStatus], bool], timeout: float
) -> JobStatus:
    """Poll ``status`` until ``wanted`` holds (or ``timeout`` seconds pass); the last
    status."""
    deadline = time.monotonic() + timeout
    while True:
        status = provider.status([job_id])[0]
        if wanted(status) or time.monotonic() >= deadline:
            return status
        time.sleep(0.2)


def ended(status: JobStatus) -> bool:
    return status.state.terminal


# --- registration and construction ------------------------------------------------------


def test_registered_as_provider_psij() -> None:
    assert registry("provider").get("psij") is PSIJProvider


def test_defaults() -> None:
    provider = PSIJProvider()
    assert (provider.executor, provider.psij_launcher, provider.label) == (
        "local",
        "single",
        "psij",
    )
    assert provider.walltime == 600.0
    assert provider.launcher is None
    assert provider.exclusive is False


def test_walltime_accepts_hh_mm_ss_and_refuses_none() -> None:
    assert PSIJProvider(walltime="01:30:00").walltime == 5400.0
    error = config_error({"walltime": None})
    assert error.details["option"] == "walltime"


def test_importing_psij_keeps_the_sigchld_handler() -> None:
    """PSI/J's local executor module installs a SIGCHLD handler that starts its reaper
    thread at any child's exit; constructing a provider (which imports PSI/J) leaves the
    handler as it was, so no PSI/J thread starts before a block does."""
    code = (
        "import signal, subprocess, threading\n"
        "from plait_psij import PSIJProvider\n"
        "PSIJProvider(executor='slurm')\n"
        "assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL\n"
        "subprocess.run(['true'], check=True)\n"
        "print(sorted(t.name for t in threading.enumerate()))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['MainThread']"


def test_unknown_executor_lists_the_installed_ones_with_a_suggestion() -> None:
    error = config_error({"executor": "slrum"})
    assert error.details["option"] == "executor"
    assert "did you mean 'slurm'" in error.message
    for name in ("local", "slurm", "pbs", "lsf"):
        assert name in error.hint


def test_executor_psij_cannot_load_is_refused_with_its_reason() -> None:
    unloadable = sorted(set(backend._entries()) - set(backend.executor_names()))
    if not unloadable:
        pytest.skip("every PSI/J executor loads here (flux and rp are installed)")
    error = config_error({"executor": unloadable[0]})
    assert "cannot load" in error.message
    assert error.details["option"] == "executor"


def test_executor_config_keys_are_checked_against_the_config_class() -> None:
    PSIJProvider(executor="slurm", executor_config=FAST_SLURM | {"keep_files": True})
    error = config_error({"executor": "slurm", "executor_config": {"queue_poling_interval": 1}})
    assert "'queue_poling_interval'" in error.message
    assert "did you mean 'queue_polling_interval'" in error.message
    assert error.details["option"] == "executor_config"
    error = config_error({"executor": "local", "executor_config": {"queue_polling_interval": 1}})
    assert "'queue_polling_interval'" in error.message


def test_psij_polls_as_often_as_plait_asks_unless_configured(tmp_path: Path) -> None:
    def config_of(provider: PSIJProvider) -> Any:
        provider.script_dir = str(tmp_path / provider.label)
        session = provider._new_session()
        threads.release(session.executor)
        return session.executor.config

    config = config_of(PSIJProvider(executor="slurm", label="a", status_polling_interval=4))
    assert (config.queue_polling_interval, config.initial_queue_polling_delay) == (4, 2)
    assert config.queue_polling_error_threshold == 30  # two minutes of failing squeue calls
    assert config.work_directory == tmp_path / "a" / "psij-work"
    config = config_of(PSIJProvider(executor="slurm", label="b", executor_config=FAST_SLURM))
    assert (config.queue_polling_interval, config.initial_queue_polling_delay) == (1, 0.5)
    assert config.queue_polling_error_threshold == 120


def test_executor_config_may_not_move_the_work_directory() -> None:
    error = config_error({"executor": "slurm", "executor_config": {"work_directory": "/tmp"}})
    assert "work_directory" in error.message


def test_unknown_psij_launcher_is_refused_with_a_suggestion() -> None:
    error = config_error({"psij_launcher": "multiples"})
    assert error.details["option"] == "psij_launcher"
    assert "did you mean 'multiple'" in error.message


def test_a_plait_launcher_runs_through_psij_launcher_single_only() -> None:
    PSIJProvider(launcher="simple")
    error = config_error({"launcher": "simple", "psij_launcher": "multiple"})
    assert error.details["option"] == "psij_launcher"


def test_unknown_plait_launcher_is_a_config_error() -> None:
    error = config_error({"launcher": "no-such-launcher"})
    assert error.details["option"] == "launcher"


@pytest.mark.parametrize(
    ("options", "option", "hint"),
    [
        ({"executor": "local", "partition": "debug"}, "partition", "on this host"),
        ({"executor": "local", "exclusive": True}, "exclusive", "on this host"),
        ({"executor": "local", "scheduler_options": {"slurm.qos": "x"}}, "scheduler_options", ""),
        ({"executor": "pbs", "qos": "high"}, "qos", 'scheduler_options = {"pbs.'),
        ({"executor": "pbs", "constraint": "haswell"}, "constraint", "scheduler_options"),
        ({"executor": "pbs", "cores_per_node": 8}, "cores_per_node", "slurm supports"),
        ({"executor": "lsf", "exclusive": True}, "exclusive", ""),
        ({"executor": "lsf", "mem_per_node": 4}, "mem_per_node", ""),
        ({"executor": "cobalt", "gpus": 1}, "gpus", ""),
    ],
)
def test_options_the_executor_cannot_express_are_refused(
    options: dict[str, Any], option: str, hint: str
) -> None:
    error = config_error(options)
    assert error.details["option"] == option
    assert options["executor"] in error.message and option in error.message
    assert hint in error.hint


def test_every_option_is_accepted_for_slurm() -> None:
    assert full_slurm_provider().executor == "slurm"


@pytest.mark.parametrize(
    ("executor", "options", "words"),
    [
        ("slurm", {"pbs.l": "x"}, ["'slurm.*'", "'pbs.l'"]),
        ("slurm", {"qos": "x"}, ["not a PSI/J custom attribute name"]),
        ("slurm", {"slurm.qos": "a\nb"}, ["one line"]),
        ("slurm", {"slurm.exclusive": True}, ["a str or a number"]),
    ],
)
def test_scheduler_options_are_custom_attributes_of_the_executor(
    executor: str, options: dict[str, Any], words: list[str]
) -> None:
    error = config_error({"executor": executor, "scheduler_options": options})
    assert error.details["option"] == "scheduler_options"
    for word in words:
        assert word in error.message


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"cores_per_node": 0}, "cores_per_node"),
        ({"gpus": 0}, "gpus"),
        ({"mem_per_node": -1}, "mem_per_node"),
        ({"partition": "a\nb"}, "partition"),
        ({"exclusive": "yes"}, "exclusive"),
        ({"executor_config": ["x"]}, "executor_config"),
        ({"cmd_timeout": 0}, "cmd_timeout"),
    ],
)
def test_invalid_values_name_the_option(options: dict[str, Any], option: str) -> None:
    error = config_error({"executor": "slurm", **options})
    assert error.details["option"] == option


def test_built_from_a_toml_style_table() -> None:
    from plait.config.config import build_component

    provider = build_component(
        "provider",
        {
            "kind": "psij",
            "executor": "slurm",
            "partition": "debug",
            "walltime": "00:30:00",
            "executor_config": {"queue_polling_interval": 5},
            "scheduler_options": {"slurm.mail-type": "END"},
        },
        "executors[0].provider",
        check_maturity=False,
    )
    assert isinstance(provider, PSIJProvider)
    assert (provider.partition, provider.walltime) == ("debug", 1800.0)


# --- the mapping onto PSI/J's objects ---------------------------------------------------


def block_paths(directory: Path) -> BlockPaths:
    return BlockPaths(directory / "b.sh", directory / "b.stdout", directory / "b.stderr")


def full_slurm_provider() -> PSIJProvider:
    return PSIJProvider(
        executor="slurm",
        nodes_per_block=2,
        walltime="01:02:03",
        partition="debug",
        account="plait",
        qos="high",
        constraint="haswell",
        exclusive=True,
        cores_per_node=8,
        mem_per_node=1.5,
        gpus=4,
        scheduler_options={"slurm.mail-type": "END"},
        psij_launcher="srun",
    )


def test_options_land_in_the_job_spec(tmp_path: Path) -> None:
    paths = block_paths(tmp_path)
    request = full_slurm_provider().request(4, "my block!")
    spec = job_spec(request, tmp_path / "guard.sh", paths, tmp_path / "b.timeout")
    assert spec.name == "my_block_"
    assert spec.executable == "bash"
    assert spec.arguments == [
        str(tmp_path / "guard.sh"),
        str(paths.script),
        "3723",
        str(tmp_path / "b.timeout"),
    ]
    assert (spec.stdout_path, spec.stderr_path) == (paths.stdout, paths.stderr)
    assert spec.launcher == "srun"
    resources = spec.resources
    assert (resources.node_count, resources.process_count) == (2, 8)
    assert resources.computed_processes_per_node == 4
    assert resources.cpu_cores_per_process == 2
    assert resources.gpu_cores_per_process == 1
    assert resources.exclusive_node_use is True
    assert resources.memory == 1536 * 1024 * 1024
    attributes = spec.attributes
    assert attributes.duration == timedelta(hours=1, minutes=2, seconds=3)
    assert (attributes.queue_name, attributes.account) == ("debug", "plait")
    assert attributes.custom_attributes == {
        "slurm.job-name": "my_block_",
        "slurm.qos": "high",
        "slurm.constraint": "haswell",
        "slurm.mail-type": "END",
    }


def test_local_blocks_ask_only_for_the_copies_the_launcher_starts(tmp_path: Path) -> None:
    paths = block_paths(tmp_path)
    for launcher, copies in (("single", 1), ("multiple", 6)):
        request = PSIJProvider(executor="local", psij_launcher=launcher).request(6, "b")
        spec = job_spec(request, tmp_path / "g", paths, tmp_path / "m")
        assert spec.name == "b"
        assert spec.resources.process_count == copies
        assert spec.resources.node_count is None
        assert spec.attributes.custom_attributes is None


def rendered_script(executor: str, request: BlockRequest, directory: Path) -> str:
    """The submit script PSI/J's batch executor ``executor`` renders for ``request``."""
    import psij

    cls = backend.executor_class(executor, "test")
    config = backend.config_class(cls)(work_directory=directory / "work")
    instance = psij.JobExecutor.get_instance(executor, config=config)
    try:
        paths = block_paths(directory)
        job = psij.Job(job_spec(request, directory / "guard.sh", paths, directory / "m"))
        instance._check_job(job)
        context = instance._create_script_context(job)  # type: ignore[attr-defined]
        out = io.StringIO()
        instance.generate_submit_script(job, context, out)  # type: ignore[attr-defined]
        return out.getvalue()
    finally:
        threads.release(instance)


def test_slurm_submit_script_has_every_option(tmp_path: Path) -> None:
    script = rendered_script("slurm", full_slurm_provider().request(4, "blk"), tmp_path)
    for line in (
        '#SBATCH --job-name="blk"',
        "#SBATCH --exclusive",
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks=8",
        "#SBATCH --ntasks-per-node=4",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --cpus-per-task=2",
        f"#SBATCH --mem={1536 * 1024}K",
        "#SBATCH --time=1:2:3",
        '#SBATCH --partition="debug"',
        '#SBATCH --account="plait"',
        '#SBATCH --qos="high"',
        '#SBATCH --constraint="haswell"',
        '#SBATCH --mail-type="END"',
    ):
        assert line in script.splitlines(), f"{line!r} not in the script:\n{script}"
    assert "srun_launch.sh" in script
    assert str(tmp_path / "guard.sh") in script


def test_slurm_submit_script_leaves_unset_options_to_slurm(tmp_path: Path) -> None:
    script = rendered_script("slurm", PSIJProvider(executor="slurm").request(1, "b"), tmp_path)
    for absent in ("--partition", "--account", "--qos", "--constraint", "--exclusive", "--mem"):
        assert absent not in script
    assert "#SBATCH --time=0:10:0" in script


def test_pbs_submit_script_has_the_options_pbs_supports(tmp_path: Path) -> None:
    provider = PSIJProvider(
        executor="pbs",
        partition="workq",
        account="proj",
        exclusive=True,
        mem_per_node=2,
        scheduler_options={"pbs.m": "e"},
    )
    script = rendered_script("pbs", provider.request(2, "b"), tmp_path).splitlines()
    for line in (
        "#PBS -q workq",
        "#PBS -A proj",
        "#PBS -l place=scatter:exclhost",
        f"#PBS -l select=1:ncpus=2:mpiprocs=2:mem={2048 * 1024 * 1024}",
        '#PBS -m "e"',
        '#PBS -N "b"',
    ):
        assert line in script, f"{line!r} not in the script"


# --- states -----------------------------------------------------------------------------


def psij_status(state: str, **kwargs: Any) -> Any:
    import psij

    return psij.JobStatus(getattr(psij.JobState, state), **kwargs)


@pytest.mark.parametrize(
    ("state", "kwargs", "expected", "exit_code"),
    [
        ("NEW", {}, JobState.PENDING, None),
        ("QUEUED", {}, JobState.PENDING, None),
        ("ACTIVE", {}, JobState.RUNNING, None),
        ("COMPLETED", {}, JobState.COMPLETED, 0),
        ("COMPLETED", {"exit_code": 0}, JobState.COMPLETED, 0),
        ("FAILED", {"exit_code": 3}, JobState.FAILED, 3),
        ("FAILED", {"message": "The job exhausted its time limit."}, JobState.TIMEOUT, None),
        ("FAILED", {"metadata": {"slurm_state": "TO"}}, JobState.TIMEOUT, None),
        ("FAILED", {"metadata": {"slurm_state": "NF"}, "message": "x"}, JobState.FAILED, None),
        ("CANCELED", {}, JobState.CANCELLED, None),
    ],
)
def test_psij_states_map_as_the_spec_table_says(
    state: str, kwargs: dict[str, Any], expected: JobState, exit_code: int | None
) -> None:
    got, _, code = translate(
        psij_status(state, **kwargs), "42", cancelled_by_plait=False, walltime_reached=False
    )
    assert (got, code) == (expected, exit_code)


def test_failed_messages_name_the_job_and_the_cause() -> None:
    _, message, _ = translate(
        psij_status("FAILED", exit_code=3), "42", cancelled_by_plait=False, walltime_reached=False
    )
    assert message == "job 42 failed: the block's command exited with status 3"


def test_a_block_the_guard_ended_at_its_walltime_is_timeout() -> None:
    state, message, _ = translate(
        psij_status("FAILED", exit_code=143), "42", cancelled_by_plait=False, walltime_reached=True
    )
    assert state is JobState.TIMEOUT and message is not None and "42" in message


def test_cancelled_outside_plait_names_the_job() -> None:
    state, message, _ = translate(
        psij_status("CANCELED"), "42", cancelled_by_plait=False, walltime_reached=False
    )
    assert state is JobState.CANCELLED
    assert message is not None and "job 42" in message and "outside plait" in message


def test_a_block_plait_cancelled_is_cancelled_even_when_psij_says_failed() -> None:
    for state in ("CANCELED", "FAILED"):
        got, message, _ = translate(
            psij_status(state, exit_code=137), "42", cancelled_by_plait=True, walltime_reached=False
        )
        assert (got, message) == (JobState.CANCELLED, "cancelled")


# --- the Slurm queue parser -------------------------------------------------------------

SQUEUE_OUTPUT = """\
12 CA Job's account not known, so it can't use this partition (accounts allows plait)
13 PD Job's account not known, so it can't use this partition (accounts allows plait)
14 PD Priority
15 R None
16 TO TimeLimit
17 F NonZeroExitCode
18 CG None
19 CD None
20 XX Whatever
"""


@pytest.fixture
def squeue_status() -> SqueueStatus:
    return SqueueStatus(backend.executor_class("slurm", "test"))


def test_squeue_lines_with_sentences_as_reasons_are_parsed(squeue_status: SqueueStatus) -> None:
    squeue_status.command(["13", "14", "15"])
    statuses = squeue_status.parse(0, SQUEUE_OUTPUT)
    states = {native_id: str(status.state) for native_id, status in statuses.items()}
    assert states == {
        "12": "CANCELED",
        "13": "QUEUED",
        "14": "QUEUED",
        "15": "ACTIVE",
        "16": "FAILED",
        "17": "FAILED",
        "18": "ACTIVE",
        "19": "COMPLETED",
        "20": "ACTIVE",
    }
    assert statuses["16"].message == "The job exhausted its time limit."
    assert statuses["16"].metadata == {"slurm_state": "TO", "reason": "TimeLimit"}
    assert squeue_status.pending_reason("13") == (
        "Job's account not known, so it can't use this partition (accounts allows plait)"
    )
    assert squeue_status.pending_reason("14") == "Priority"
    assert squeue_status.pending_reason("15") is None


def test_a_failing_squeue_is_an_error(squeue_status: SqueueStatus) -> None:
    with pytest.raises(RuntimeError, match="squeue exited with 1"):
        squeue_status.parse(1, "slurm_load_jobs error: Unable to contact slurm controller")


# --- blocks on this host (PSI/J's local executor) ---------------------------------------


@pytest.mark.parametrize(
    ("options", "copies"),
    [
        ({"psij_launcher": "single"}, 1),
        ({"psij_launcher": "multiple"}, 3),
        ({"launcher": "simple"}, 1),
    ],
)
def test_psij_launchers_start_the_copies_they_promise(
    tmp_path: Path, options: dict[str, Any], copies: int
) -> None:
    provider = PSIJProvider(executor="local", **options)
    provider.script_dir = str(tmp_path / "scripts")
    marker = tmp_path / "copies"
    job_id = provider.submit(f"echo copy >> {marker}", 3, "copies")
    final = wait_for(provider, job_id, ended, 60)
    assert final.state is JobState.COMPLETED, final
    assert marker.read_text().splitlines() == ["copy"] * copies


def test_worker_init_runs_before_the_command_in_the_same_shell(tmp_path: Path) -> None:
    provider = PSIJProvider(executor="local", worker_init="export PLAIT_PSIJ_TEST=from-init")
    provider.script_dir = str(tmp_path / "scripts")
    job_id = provider.submit('echo "$PLAIT_PSIJ_TEST"', 1, "init")
    final = wait_for(provider, job_id, ended, 60)
    assert final.state is JobState.COMPLETED
    assert final.stdout_path is not None
    assert Path(final.stdout_path).read_text() == "from-init\n"


def test_psij_work_files_stay_under_script_dir(tmp_path: Path) -> None:
    provider = PSIJProvider(executor="local")
    provider.script_dir = str(tmp_path / "scripts")
    job_id = provider.submit("true", 1, "files")
    assert wait_for(provider, job_id, ended, 60).state is JobState.COMPLETED
    written = {p.name for p in (tmp_path / "scripts").iterdir()}
    assert {"psij-work", guard.NAME, "files.psij-1.sh"} <= written


def test_a_reaper_that_ended_forwards_to_the_next_one(tmp_path: Path) -> None:
    """Once PSI/J's shared local reaper has ended, an executor that still holds it can
    submit and cancel jobs: they go to the reaper running in its place."""
    import psij

    def executor() -> Any:
        return psij.JobExecutor.get_instance(
            "local", config=psij.JobExecutorConfig(work_directory=tmp_path / "work")
        )

    def job(command: str) -> Any:
        return psij.Job(psij.JobSpec(executable="bash", arguments=["-c", command]))

    first, second = executor(), executor()
    threads.adopt(first)
    done = job("true")
    first.submit(done)
    assert done.wait(timedelta(seconds=30)) is not None
    threads.release(first)
    reaper = first._reaper
    reaper.join(10)
    assert not reaper.is_alive(), "the reaper did not end once it had no job"

    held = job("sleep 60")
    second.submit(held)
    assert second._reaper is reaper
    ok = job("exit 0")
    second.submit(ok)
    assert ok.wait(timedelta(seconds=30)) is not None and str(ok.status.state) == "COMPLETED"
    second.cancel(held)
    assert held.wait(timedelta(seconds=30)) is not None
    threads.release(second)
    assert _no_reaper_within(10)


def _no_reaper_within(timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any("Reaper" in t.name for t in threading.enumerate()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- the real Slurm ---------------------------------------------------------------------


@pytest.fixture
def slurm_provider(slurm: Any, tmp_path: Path) -> Iterator[Callable[..., PSIJProvider]]:
    """Makes Slurm providers (fast polling, one core per block, on the default
    partition); cancels their live blocks afterwards."""
    made: list[PSIJProvider] = []

    def make(**options: Any) -> PSIJProvider:
        settings = {
            "executor": "slurm",
            "executor_config": FAST_SLURM,
            "partition": slurm.partition,
            "cores_per_node": 1,
            "cmd_timeout": 60.0,
            **options,
        }
        provider = PSIJProvider(**settings)
        provider.script_dir = str(tmp_path / f"scripts{len(made)}")
        made.append(provider)
        return provider

    yield make
    for provider in made:
        ids = list(provider._blocks)
        live = [j for j, s in zip(ids, provider.status(ids), strict=True) if not s.state.terminal]
        provider.cancel(live)


@pytest.mark.plait_integration
def test_slurm_refuses_a_bad_partition_in_its_own_words(
    slurm_provider: Callable[..., PSIJProvider],
) -> None:
    provider = slurm_provider(partition="plait-no-such-partition")
    with pytest.raises(SchedulerCommandError) as info:
        provider.submit("true", 1, "bad-partition")
    assert "invalid partition specified" in str(info.value).lower()
    assert provider._session is None, "the executor of a refused block was not released"


@pytest.mark.plait_integration
def test_a_block_cancelled_outside_plait_is_cancelled_with_its_id(
    slurm_provider: Callable[..., PSIJProvider], tmp_path: Path
) -> None:
    provider = slurm_provider()
    started = tmp_path / "started"
    job_id = provider.submit(f"touch {started}; sleep 600", 1, "outside")
    running = wait_for(provider, job_id, lambda s: started.exists() or ended(s), 240)
    assert started.exists(), f"the block never ran: {running}"
    subprocess.run(["scancel", job_id], check=True)
    final = wait_for(provider, job_id, ended, 120)
    assert final.state is JobState.CANCELLED, final
    assert final.message is not None and job_id in final.message
    assert "outside plait" in final.message
    assert provider.cancel([job_id]) == [False]


@pytest.mark.plait_integration
def test_a_block_slurm_never_starts_fails_with_slurms_reason(
    slurm: Any, slurm_provider: Callable[..., PSIJProvider]
) -> None:
    provider = slurm_provider(partition=slurm.account_partition)
    job_id = provider.submit("true", 1, "no-account")
    final = wait_for(provider, job_id, ended, 120)
    assert final.state is JobState.FAILED, final
    assert final.message is not None
    assert "can't use this partition" in final.message and job_id in final.message
    squeue = ["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%t"]
    state = lambda: subprocess.run(squeue, capture_output=True, text=True).stdout.strip()  # noqa: E731
    deadline = time.monotonic() + 60
    while state() not in ("CA", "") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert state() in ("CA", ""), "the block that never starts was not cancelled in Slurm"


@pytest.mark.plait_integration
def test_a_block_slurm_ends_at_its_time_limit_is_timeout(
    slurm_provider: Callable[..., PSIJProvider], tmp_path: Path
) -> None:
    """Slurm's own time limit (lowered on the running job, so that Slurm and not the
    guard ends it): PSI/J reports FAILED, the provider TIMEOUT."""
    provider = slurm_provider()
    started = tmp_path / "started"
    job_id = provider.submit(f"touch {started}; sleep 600", 1, "time-limit")
    wait_for(provider, job_id, lambda s: started.exists() or ended(s), 240)
    assert started.exists()
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "TimeLimit=00:01:00"], check=True)
    final = wait_for(provider, job_id, ended, 240)
    assert final.state is JobState.TIMEOUT, final
    assert not (tmp_path / "scripts0" / "time-limit.psij-1.timeout").exists()


@pytest.mark.plait_integration
@pytest.mark.parametrize(
    ("options", "ranks"),
    [
        ({"psij_launcher": "single"}, ["0"]),
        ({"psij_launcher": "multiple"}, ["0", "0"]),
        ({"psij_launcher": "srun"}, ["0", "1"]),
        ({"launcher": "simple"}, ["0"]),
    ],
)
def test_psij_launchers_under_slurm(
    slurm_provider: Callable[..., PSIJProvider],
    tmp_path: Path,
    options: dict[str, Any],
    ranks: list[str],
) -> None:
    """``single`` runs the command once, ``multiple`` once per task slot in the batch
    step (rank 0), ``srun`` once per task slot as Slurm tasks (ranks 0, 1)."""
    provider = slurm_provider(**options)
    marker = tmp_path / "ranks"
    job_id = provider.submit(f'echo "$SLURM_PROCID" >> {marker}', 2, "launchers")
    final = wait_for(provider, job_id, ended, 240)
    assert final.state is JobState.COMPLETED, final
    assert sorted(marker.read_text().split()) == ranks
