"""LocalProvider: what a user relies on beyond the kit (walltime, cancel, worker_init,
option errors, leftovers, exit codes, files)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typeguard import suppress_type_checks

from plait.conformance.base import child_pids, leftovers, wait_until
from plait.errors import ConfigError
from plait.interfaces import JobState, JobStatus
from plait_local import LocalProvider, SimpleLauncher, SingleNodeLauncher, WrappedLauncher


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def pids_in(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def wait_file(path: Path, timeout: float = 20.0) -> None:
    assert wait_until(path.exists, timeout), f"{path.name} did not appear"


def final(provider: LocalProvider, job_id: str, timeout: float = 30.0) -> JobStatus:
    box: list[JobStatus] = []

    def ended() -> bool:
        box[:] = provider.status([job_id])
        return box[0].state.terminal

    assert wait_until(ended, timeout), f"block {job_id} is still {box[0].state.name}"
    return box[0]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Any]:
    """``make(**options)``: a provider with ``script_dir`` set; live blocks are
    cancelled after the test."""
    made: list[LocalProvider] = []

    def factory(**options: Any) -> LocalProvider:
        provider = LocalProvider(**{"kill_grace": 1.0, **options})
        provider.script_dir = str(tmp_path / "scripts")
        made.append(provider)
        return provider

    yield factory
    for provider in made:
        provider.cancel(provider._live_job_ids())


# --- walltime -------------------------------------------------------------------------


def test_walltime_ends_a_long_block_without_status_calls(make: Any, tmp_path: Path) -> None:
    provider = make(walltime=1)
    pids = tmp_path / "pids"
    start = time.monotonic()
    job_id = provider.submit(f"sleep 300 & echo $! $$ > {pids}; wait", 1)
    wait_file(pids)
    victims = pids_in(pids)
    assert len(victims) == 2 and all(alive(p) for p in victims)
    # no status() call until every process has gone: the provider's own thread acts
    assert wait_until(lambda: not any(alive(p) for p in victims), 15), "walltime not enforced"
    took = time.monotonic() - start
    assert 0.9 <= took < 5, f"the block ended {took:.1f} s after submit, walltime 1 s"
    status = final(provider, job_id)
    assert status.state is JobState.TIMEOUT and "walltime" in (status.message or "")


def test_walltime_kills_what_ignores_sigterm(make: Any, tmp_path: Path) -> None:
    provider = make(walltime="00:00:01", kill_grace=1.0)
    ready = tmp_path / "ready"
    job_id = provider.submit(f"trap '' TERM; touch {ready}; while :; do sleep 0.1; done", 1)
    wait_file(ready)
    start = time.monotonic()
    status = final(provider, job_id)
    assert status.state is JobState.TIMEOUT
    assert time.monotonic() - start < 10, "SIGKILL did not follow the grace"


def test_walltime_spares_blocks_that_end_sooner(make: Any) -> None:
    provider = make(walltime=30)
    job_id = provider.submit("exit 0", 1)
    status = final(provider, job_id)
    assert status.state is JobState.COMPLETED and status.exit_code == 0


# --- cancel -----------------------------------------------------------------------------


def test_cancel_kills_children_and_grandchildren(make: Any, tmp_path: Path) -> None:
    provider = make()
    pids = tmp_path / "pids"
    nested = f"sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; wait"
    command = f"echo $$ >> {pids}; bash -c '{nested}' & (sleep 300 & echo $! >> {pids}; wait)"
    job_id = provider.submit(command, 2)  # two copies through single-node
    assert wait_until(lambda: len(pids_in(pids)) == 8, 20), pids_in(pids)
    victims = pids_in(pids)
    assert all(alive(p) for p in victims)
    assert provider.cancel([job_id]) == [True]
    # cancel() returns once the processes have ended
    assert not [p for p in victims if alive(p)], "cancel() returned with processes alive"
    assert provider.status([job_id])[0].state is JobState.CANCELLED
    assert provider.cancel([job_id]) == [False], "a second cancel of an ended block"


def test_cancel_escalates_to_sigkill(make: Any, tmp_path: Path) -> None:
    provider = make(kill_grace=0.5)
    ready = tmp_path / "ready"
    job_id = provider.submit(f"trap '' TERM; touch {ready}; while :; do sleep 0.1; done", 1)
    wait_file(ready)
    start = time.monotonic()
    assert provider.cancel([job_id]) == [True]
    took = time.monotonic() - start
    assert 0.4 <= took < 5, f"cancel took {took:.2f} s with kill_grace 0.5 s"
    assert provider.status([job_id])[0].state is JobState.CANCELLED


def test_cancel_leaves_other_blocks_alone(make: Any, tmp_path: Path) -> None:
    provider = make()
    gate, ready = tmp_path / "gate", tmp_path / "ready"
    victim = provider.submit("sleep 300", 1)
    other = provider.submit(f"touch {ready}; while [ ! -e {gate} ]; do sleep 0.05; done", 1)
    wait_file(ready)
    assert provider.cancel([victim, "local-999", victim]) == [True, False, False]
    assert provider.status([other])[0].state is JobState.RUNNING
    gate.touch()
    assert final(provider, other).state is JobState.COMPLETED


def test_nothing_left_after_cancel(tmp_path: Path) -> None:
    threads, children = set(threading.enumerate()), child_pids()
    provider = LocalProvider(kill_grace=1.0)
    provider.script_dir = str(tmp_path)
    ids = [provider.submit("sleep 300 & sleep 300 & wait", 3) for _ in range(3)]
    time.sleep(0.2)
    assert len([t for t in threading.enumerate() if t not in threads]) == 3, "one watcher each"
    assert provider.cancel(ids) == [True, True, True]
    assert leftovers(threads, children, timeout=5) == []
    assert all(s.state is JobState.CANCELLED for s in provider.status(ids))


@pytest.mark.parametrize("missing", [["pidfd_open"], ["pidfd_open", "waitid"]])
def test_without_pidfd_or_waitid_the_provider_polls(
    make: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: list[str]
) -> None:
    """Where Linux's pidfd (and waitid) are missing, as on macOS, blocks still end."""
    for name in missing:
        monkeypatch.delattr(os, name, raising=False)
    provider, limited = make(kill_grace=0.5), make(walltime=1, kill_grace=0.5)
    ready = tmp_path / "ready"
    timed = limited.submit("sleep 300", 1)
    held = provider.submit(f"trap '' TERM; touch {ready}; while :; do sleep 0.1; done", 1)
    quick = provider.submit("exit 3", 1)
    wait_file(ready)
    assert provider.cancel([held]) == [True]
    assert provider.status([held])[0].state is JobState.CANCELLED
    assert (final(provider, quick).state, final(provider, quick).exit_code) == (JobState.FAILED, 3)
    assert final(limited, timed).state is JobState.TIMEOUT


# --- exits and leftovers ----------------------------------------------------------------


def test_exit_codes_and_signals(make: Any) -> None:
    provider = make(launcher="simple")
    ok, bad, killed = (provider.submit(c, 1) for c in ("exit 0", "exit 7", "kill -KILL $$"))
    status = final(provider, ok)
    assert (status.state, status.exit_code, status.message) == (JobState.COMPLETED, 0, None)
    status = final(provider, bad)
    assert (status.state, status.exit_code) == (JobState.FAILED, 7)
    assert status.message == "the command exited with status 7"
    status = final(provider, killed)
    assert (status.state, status.exit_code) == (JobState.FAILED, 137)
    assert "SIGKILL" in (status.message or "")


def test_background_leftovers_are_ended_before_the_block_reports_its_end(
    make: Any, tmp_path: Path
) -> None:
    provider = make(kill_grace=0.5)
    pids = tmp_path / "pids"
    # the leftover ignores SIGTERM: it takes the SIGKILL to end it
    command = f"bash -c 'trap \"\" TERM; sleep 300' & echo $! > {pids}; exit 0"
    job_id = provider.submit(command, 1)
    wait_file(pids)
    [leftover] = pids_in(pids)
    status = final(provider, job_id)
    assert status.state is JobState.COMPLETED
    assert not alive(leftover), "the block reported COMPLETED with a process still running"


# --- worker_init, launchers, files --------------------------------------------------------


def test_worker_init_runs_first_in_the_same_shell(make: Any, tmp_path: Path) -> None:
    log = tmp_path / "log"
    provider = make(worker_init=f'export FROM_INIT="set by init"\necho init >> {log}')
    job_id = provider.submit(f'echo "command sees: $FROM_INIT" >> {log}', 2)
    assert final(provider, job_id).state is JobState.COMPLETED
    lines = log.read_text().splitlines()
    assert lines == ["init", "command sees: set by init", "command sees: set by init"]


@pytest.mark.parametrize(
    ("launcher", "expected"),
    [
        ("single-node", 3),
        ({"kind": "single-node"}, 3),
        (SingleNodeLauncher(), 3),
        ("simple", 1),
        (SimpleLauncher(), 1),
        ({"kind": "wrapped", "prepend": "env PLAIT_WRAPPED=1"}, 1),
    ],
    ids=["name", "table", "instance", "simple", "simple-instance", "wrapped-table"],
)
def test_launcher_option(make: Any, tmp_path: Path, launcher: Any, expected: int) -> None:
    provider = make(launcher=launcher)
    out = tmp_path / "copies"
    out.mkdir()
    job_id = provider.submit(f'mktemp {out}/copy.XXXXXX > /dev/null; echo "$PLAIT_WRAPPED"', 3)
    status = final(provider, job_id)
    assert status.state is JobState.COMPLETED
    assert len(list(out.iterdir())) == expected
    if isinstance(launcher, dict) and launcher["kind"] == "wrapped":
        assert isinstance(provider.launcher, WrappedLauncher)
        assert status.stdout_path and Path(status.stdout_path).read_text() == "1\n"


def test_files_under_script_dir(make: Any, tmp_path: Path) -> None:
    provider = make()
    job_id = provider.submit("echo out; echo err >&2", 1, job_name="my block/1")
    status = final(provider, job_id)
    assert status.stdout_path and status.stderr_path
    stdout, stderr = Path(status.stdout_path), Path(status.stderr_path)
    assert stdout.read_text() == "out\n" and stderr.read_text() == "err\n"
    scripts = tmp_path / "scripts"
    assert sorted(p.name for p in scripts.iterdir()) == [
        f"my_block_1.{job_id}.sh",
        f"my_block_1.{job_id}.stderr",
        f"my_block_1.{job_id}.stdout",
    ]


def test_without_script_dir_files_go_to_a_directory_of_the_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, temp = tmp_path / "cwd", tmp_path / "temp"
    cwd.mkdir()
    temp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    provider = LocalProvider(label="no dir")
    first, second = provider.submit("echo one", 1), provider.submit("echo two", 1)
    paths = [final(provider, j).stdout_path for j in (first, second)]
    assert all(p is not None for p in paths)
    directories = {Path(p).parent for p in paths if p is not None}
    assert len(directories) == 1
    directory = directories.pop()
    assert directory.parent == temp and directory.name.startswith("plait-local-no_dir-")
    assert [Path(p).read_text() for p in paths if p is not None] == ["one\n", "two\n"]
    assert list(cwd.iterdir()) == [], "the provider wrote to the working directory"


# --- status, ids, options ---------------------------------------------------------------


def test_status_and_cancel_of_unknown_ids(make: Any) -> None:
    provider = make()
    assert provider.status([]) == [] and provider.cancel([]) == []
    statuses = provider.status(["local-1", "", "nonsense"])
    assert [s.state for s in statuses] == [JobState.MISSING] * 3
    assert provider.cancel(["local-1"]) == [False]


def test_job_ids_are_unique_and_clean(make: Any) -> None:
    provider = make()
    ids = [provider.submit("exit 0", 1) for _ in range(5)]
    assert ids == [f"local-{n}" for n in range(1, 6)]
    for job_id in ids:
        final(provider, job_id)


def test_construction_starts_nothing_and_keeps_options() -> None:
    threads, children = set(threading.enumerate()), child_pids()
    provider = LocalProvider(
        label="mine",
        init_blocks=0,
        min_blocks=0,
        max_blocks=4,
        walltime="01:30:00",
        worker_init="module load python",
        cmd_timeout=10,
    )
    assert (provider.walltime, provider.max_blocks, provider.cmd_timeout) == (5400.0, 4, 10)
    assert isinstance(provider.launcher, SingleNodeLauncher)
    assert set(threading.enumerate()) == threads and child_pids() == children


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"init_blocks": -1}, "init_blocks"),
        ({"max_blocks": 1.5}, "max_blocks"),
        ({"min_blocks": 2, "max_blocks": 1}, "min_blocks"),
        ({"nodes_per_block": 2}, "nodes_per_block"),
        ({"nodes_per_block": 0}, "nodes_per_block"),
        ({"status_polling_interval": 0}, "status_polling_interval"),
        ({"status_polling_interval": True}, "status_polling_interval"),
        ({"walltime": "soon"}, "walltime"),
        ({"walltime": "1:2:3:4"}, "walltime"),
        ({"walltime": -1}, "walltime"),
        ({"cmd_timeout": 0}, "cmd_timeout"),
        ({"kill_grace": float("inf")}, "kill_grace"),
        ({"label": ""}, "label"),
        ({"worker_init": None}, "worker_init"),
        ({"launcher": "no-such-launcher"}, "launcher"),
        ({"launcher": 42}, "launcher"),
        ({"launcher": {"kind": "wrapped", "prefix": "x"}}, "prefix"),
        ({"launcher": {"kind": "wrapped", "prepend": "a\nb"}}, "prepend"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else None,
)
def test_bad_options_raise_config_error(options: dict[str, Any], name: str) -> None:
    # what users get: typeguard (active in these tests) would reject some values earlier
    with suppress_type_checks(), pytest.raises(ConfigError) as info:
        LocalProvider(**options)
    assert name in str(info.value)
    assert info.value.code == ("PLT-115" if name == "prefix" else "PLT-110")  # unknown key


def test_a_launcher_name_that_is_close_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        LocalProvider(launcher="single_node")
    assert "did you mean 'single-node'?" in info.value.hint


# --- at exit --------------------------------------------------------------------------------


def test_blocks_left_running_are_cancelled_when_python_exits(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from plait_local import LocalProvider

        provider = LocalProvider(kill_grace=1.0)
        provider.script_dir = {str(tmp_path / "scripts")!r}
        provider.submit("sleep 300 & echo $! $$ > {pids}; wait", 1)
        while not Path({str(pids)!r}).exists():
            time.sleep(0.05)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    victims = pids_in(pids)
    assert len(victims) == 2
    assert wait_until(lambda: not any(alive(p) for p in victims), 10), "blocks outlived Python"
    assert "cancelling blocks local-1 at exit" in run.stderr


def test_a_forked_child_does_not_cancel_its_parents_blocks(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, sys
        from plait_local import LocalProvider

        provider = LocalProvider()
        provider.script_dir = {str(tmp_path)!r}
        job_id = provider.submit("sleep 300", 1)
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # a normal exit: the child runs the exit handlers
        os.waitpid(pid, 0)
        print(provider.status([job_id])[0].state.name)
        print(provider.cancel([job_id]))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["RUNNING", "[True]"]


def test_parallelism_is_a_fraction() -> None:
    assert LocalProvider(parallelism=0.5).parallelism == 0.5
    for bad in (1.5, -0.1, "half", True):
        with pytest.raises(ConfigError, match="parallelism"):
            LocalProvider(parallelism=bad)
