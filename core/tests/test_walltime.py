"""``walltime``: a task running longer than its walltime is stopped and fails with
AppTimeout; a task within its walltime is unaffected."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import bash_app, python_app
from plait.errors import AppTimeout, DependencyError


@python_app
def busy(seconds: float, walltime: float = 0.5) -> str:
    """Busy-loops (pure Python, holding no lock) for ``seconds``."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return "finished"


@python_app
def quick(x: int, walltime: float = 5) -> int:
    return x + 1


@bash_app
def sleeper(seconds: float, walltime: float = 1, stdout: Any = None) -> str:
    return f"echo started; sleep {seconds}; echo never-printed"


def test_python_app_over_walltime(dfk: plait.DataFlowKernel) -> None:
    started = time.monotonic()
    future = busy(30)
    exc = future.exception(timeout=60)
    elapsed = time.monotonic() - started
    assert isinstance(exc, AppTimeout)
    assert exc.code == "PLT-203"
    assert "busy" in str(exc) and "0.5" in str(exc) and "PLT-203" in str(exc)
    assert exc.hint
    assert elapsed < 15, f"the app should stop near its walltime, took {elapsed:.1f} s"


def test_walltime_from_call_keyword(dfk: plait.DataFlowKernel) -> None:
    exc = busy(30, walltime=0.3).exception(timeout=60)
    assert isinstance(exc, AppTimeout)
    assert "0.3" in str(exc)


def test_walltime_as_hh_mm_ss(dfk: plait.DataFlowKernel) -> None:
    assert quick(1, walltime="00:00:05").result(timeout=30) == 2


def test_fast_python_app_with_walltime_succeeds(dfk: plait.DataFlowKernel) -> None:
    assert [quick(i).result(timeout=30) for i in range(5)] == [1, 2, 3, 4, 5]
    assert busy(0.01, walltime=10).result(timeout=30) == "finished"


def test_timed_out_worker_thread_is_reusable(load: Any) -> None:
    from plait_threads import ThreadPoolExecutor

    load(executors=[ThreadPoolExecutor(max_threads=1)])
    assert isinstance(busy(30, walltime=0.2).exception(timeout=60), AppTimeout)
    assert quick(1).result(timeout=30) == 2, "the pool's only thread survived the timeout"


def test_bash_app_over_walltime_is_killed(dfk: plait.DataFlowKernel, tmp_path: Path) -> None:
    out = tmp_path / "sleep.out"
    started = time.monotonic()
    future = sleeper(30, stdout=str(out))
    exc = future.exception(timeout=60)
    elapsed = time.monotonic() - started
    assert isinstance(exc, AppTimeout)
    assert exc.code == "PLT-203"
    assert "sleeper" in str(exc)
    assert elapsed < 15, f"the command should be killed near its walltime, took {elapsed:.1f} s"
    assert out.read_text() == "started\n"


def test_bash_app_walltime_kills_child_processes(dfk: plait.DataFlowKernel, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"

    @bash_app
    def spawner(walltime: float = 0.5) -> str:
        return f"sleep 60 & echo $! > {pid_file}; wait"

    assert isinstance(spawner().exception(timeout=60), AppTimeout)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, f"background child {pid} survived the walltime"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); treat it as gone
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


def test_fast_bash_app_with_walltime_succeeds(dfk: plait.DataFlowKernel, tmp_path: Path) -> None:
    out = tmp_path / "fast.out"

    @bash_app
    def fast(walltime: float = 10, stdout: Any = None) -> str:
        return "echo fast"

    assert fast(stdout=str(out)).result(timeout=30) == 0
    assert out.read_text() == "fast\n"


def test_timeout_fails_dependents(dfk: plait.DataFlowKernel) -> None:
    exc = quick(busy(30, walltime=0.2)).exception(timeout=60)
    assert isinstance(exc, DependencyError)
    assert "AppTimeout" in exc.root_cause


def test_timeout_is_retried(load: Any, counter: Any) -> None:
    load(retries=1)

    @python_app
    def slow_then_fast(walltime: float = 0.3) -> str:
        if counter.hit() == 1:
            end = time.monotonic() + 30
            while time.monotonic() < end:
                pass
        return "second attempt"

    assert slow_then_fast().result(timeout=60) == "second attempt"
    assert counter.total == 2


def test_invalid_walltime_is_rejected_at_call(dfk: plait.DataFlowKernel) -> None:
    with pytest.raises(plait.errors.ResourceSpecificationError):
        quick(1, walltime="soon")
    with pytest.raises(plait.errors.ResourceSpecificationError):
        quick(1, walltime=-1)
