"""Every failure of issue 5 item 2, with real processes and real signals: each task
concerned fails with its own error naming host, block and attempt, is retried when
``retries`` allows, and every other task completes."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

import plait
from plait.conformance.base import wait_until
from plait.errors import (
    BlockFailureError,
    BlockLostError,
    ExecutorUnavailableError,
    InterchangeLostError,
    ManagerLostError,
    SerializationError,
    WorkerLostError,
)
from plait.procfs import all_stats, read_stat
from plait_htex import HighThroughputExecutor
from plait_htex.remote import RemoteTraceback

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")

PERIOD = 0.5
"""heartbeat_period of these tests (heartbeat_threshold is twice it)."""
TIMEOUT = 60.0


# --- tasks (sent by value) --------------------------------------------------------------


def add(a: int, b: int) -> int:
    return a + b


def report_pid_then_wait(pid_file: str, gate: str, value: Any) -> Any:
    Path(pid_file).write_text(str(os.getpid()))
    deadline = time.monotonic() + TIMEOUT
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    return value


def exit_now(code: int) -> None:
    os._exit(code)


def segfault() -> None:
    ctypes.string_at(0)


def die_on_first_attempt(marker: str) -> str:
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return "second attempt"


def unpicklable() -> Any:
    return threading.Lock()


def big(size: int) -> bytes:
    return b"\x5a" * size


def raise_unpicklable() -> None:
    class Local(Exception):
        def __reduce__(self) -> Any:
            raise TypeError("no")

    raise Local("local failure")


# --- helpers ------------------------------------------------------------------------------


def config(tmp_path: Path, retries: int = 0, **options: Any) -> plait.Config:
    htex = {
        "kind": "htex",
        "label": "htex",
        "max_workers_per_node": 2,
        "serializers": ["cloudpickle"],
        "heartbeat_period": PERIOD,
        "heartbeat_threshold": 2 * PERIOD,
        **options,
    }
    return plait.Config(
        executors=[htex],
        run_dir=str(tmp_path / "runinfo"),
        retries=retries,
        strategy_period=0.2,
        error_reporters=[],
    )


@pytest.fixture
def htex(tmp_path: Path) -> Iterator[plait.DataFlowKernel]:
    with plait.load(config(tmp_path)) as dfk:
        yield dfk


def executor_of(dfk: plait.DataFlowKernel) -> HighThroughputExecutor:
    executor = dfk.executors["htex"]
    assert isinstance(executor, HighThroughputExecutor)
    return executor


def started_task(tmp_path: Path, name: str) -> tuple[Any, int, Path]:
    """Submit a task that reports its worker's pid and waits; return (future, pid, gate)."""
    pid_file, gate = tmp_path / f"{name}.pid", tmp_path / f"{name}.gate"
    future = plait.python_app(report_pid_then_wait)(str(pid_file), str(gate), name)
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text() != "", TIMEOUT)
    return future, int(pid_file.read_text()), gate


def others_complete(count: int = 20) -> None:
    futures = [plait.python_app(add)(i, 1) for i in range(count)]
    assert [f.result(TIMEOUT) for f in futures] == [i + 1 for i in range(count)]


def assert_where(error: Any, attempt: int = 0) -> None:
    assert error.details["host"] and error.details["block"] == "0"
    assert error.details["attempt"] == attempt
    assert error.details["executor"] == "htex"


# --- a worker dies ------------------------------------------------------------------------


def test_worker_killed_mid_task(htex: plait.DataFlowKernel, tmp_path: Path) -> None:
    future, pid, _ = started_task(tmp_path, "victim")
    bystander, _, bystander_gate = started_task(tmp_path, "bystander")
    os.kill(pid, signal.SIGKILL)
    error = future.exception(TIMEOUT)
    assert isinstance(error, WorkerLostError), error
    assert "SIGKILL" in str(error) and f"pid {pid}" in str(error)
    assert_where(error)
    bystander_gate.touch()
    assert bystander.result(TIMEOUT) == "bystander", "the other worker's task was lost"
    others_complete()  # a new worker took the dead one's place


@pytest.mark.parametrize(
    ("task", "args", "status"),
    [(exit_now, (7,), "exited with status 7"), (segfault, (), "SIGSEGV")],
    ids=["os._exit", "segfault"],
)
def test_task_that_ends_its_process(
    htex: plait.DataFlowKernel, task: Any, args: tuple[Any, ...], status: str
) -> None:
    error = plait.python_app(task)(*args).exception(TIMEOUT)
    assert isinstance(error, WorkerLostError), error
    assert status in str(error)
    assert_where(error)
    others_complete()


def test_lost_worker_is_retried(tmp_path: Path) -> None:
    with plait.load(config(tmp_path, retries=1)):
        marker = tmp_path / "died-once"
        assert plait.python_app(die_on_first_attempt)(str(marker)).result(TIMEOUT) == (
            "second attempt"
        )
        assert marker.exists()


# --- a manager or a block dies ---------------------------------------------------------------


def test_manager_killed_is_detected_within_two_heartbeat_periods(
    htex: plait.DataFlowKernel, tmp_path: Path
) -> None:
    executor = executor_of(htex)
    future, _, gate = started_task(tmp_path, "orphan")
    [manager] = executor.connected_managers()
    os.kill(manager["pid"], signal.SIGKILL)
    killed = time.monotonic()
    error = future.exception(TIMEOUT)
    detected = time.monotonic() - killed
    assert isinstance(error, ManagerLostError), error
    assert_where(error)
    # threshold (2 periods) + the interchange's check interval (half a period) + slack
    assert detected < 2 * PERIOD + PERIOD / 2 + 1.0, f"detected after {detected:.2f} s"
    gate.touch()


def test_block_cancelled_by_its_provider(htex: plait.DataFlowKernel, tmp_path: Path) -> None:
    executor = executor_of(htex)
    future, _, gate = started_task(tmp_path, "cancelled")
    [record] = executor._blocks.live() if executor._blocks else []
    assert executor.provider.cancel([record.job_id]) == [True]
    error = future.exception(TIMEOUT)
    assert isinstance(error, BlockLostError), error
    assert "CANCELLED" in str(error) and error.details["state"] == "CANCELLED"
    assert_where(error)
    gate.touch()
    others_complete()  # the scaling loop replaced the block


# --- serialization ---------------------------------------------------------------------


def test_unpicklable_result(htex: plait.DataFlowKernel) -> None:
    error = plait.python_app(unpicklable)().exception(TIMEOUT)
    assert isinstance(error, SerializationError), error
    assert "lock" in str(error) and "cloudpickle" in str(error)
    others_complete()


def test_unpicklable_exception_keeps_type_message_and_traceback(
    htex: plait.DataFlowKernel,
) -> None:
    error = plait.python_app(raise_unpicklable)().exception(TIMEOUT)
    assert isinstance(error, plait.errors.RemoteTaskError), error
    assert "Local" in str(error) and "local failure" in str(error)
    assert "raise_unpicklable" in str(error.__cause__)
    assert_where(error)
    assert isinstance(error.details["worker"], int)


def fail_with(message: str) -> None:
    raise KeyError(message)


def test_a_task_error_shows_the_workers_traceback_and_where_it_ran(
    htex: plait.DataFlowKernel,
) -> None:
    """The task's own exception comes back as itself; its cause is the worker's
    traceback, headed by the worker, block, host, executor and attempt, which a normal
    Python traceback shows."""
    error = plait.python_app(fail_with)("no column age").exception(TIMEOUT)
    assert type(error) is KeyError and error.args == ("no column age",)
    cause = error.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert (cause.executor, cause.block, cause.attempt) == ("htex", "0", 1)
    assert cause.host == socket.gethostname() and cause.pid != os.getpid()
    assert (cause.type_name, cause.message) == ("builtins.KeyError", "'no column age'")
    shown = "".join(traceback.format_exception(error))
    header = (
        f"Traceback on worker {cause.worker} (pid {cause.pid}) of block 0 on "
        f"{cause.host} of executor 'htex', attempt 1:"
    )
    assert header in shown
    assert ", in fail_with\n" in shown  # (by-value functions show no source line)
    assert shown.index(header) < shown.index("KeyError: 'no column age'\n")


def test_unpicklable_argument_fails_at_submit(htex: plait.DataFlowKernel) -> None:
    error = plait.python_app(add)(1, threading.Lock()).exception(TIMEOUT)
    assert isinstance(error, SerializationError), error
    assert "argument 2 of type lock" in str(error) and "cloudpickle" in str(error)
    error = plait.python_app(add)(1, b=threading.Lock()).exception(TIMEOUT)
    assert "argument 'b' of type lock" in str(error)
    others_complete()


def test_200_mb_result(htex: plait.DataFlowKernel) -> None:
    size = 200 * 1024 * 1024
    result = plait.python_app(big)(size).result(TIMEOUT)
    assert len(result) == size and result[:1] == b"\x5a" and result[-1:] == b"\x5a"
    others_complete()


# --- the interchange dies ----------------------------------------------------------------


def test_dead_interchange_fails_outstanding_tasks(
    htex: plait.DataFlowKernel, tmp_path: Path
) -> None:
    executor = executor_of(htex)
    future, _, gate = started_task(tmp_path, "stranded")
    assert executor._client is not None and executor._client.proc is not None
    executor._client.proc.kill()
    error = future.exception(TIMEOUT)
    assert isinstance(error, InterchangeLostError), error
    assert "interchange.log" in str(error)
    later = plait.python_app(add)(1, 2).exception(TIMEOUT)
    assert isinstance(later, (InterchangeLostError, ExecutorUnavailableError)), later
    gate.touch()


# --- a pool that cannot start --------------------------------------------------------------


def wrapper(tmp_path: Path, body: str) -> str:
    script = tmp_path / "python-wrapper"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing python", "No such file"),
        ("import error", "No module named"),
        ("unreachable address", "no answer from the interchange"),
        ("serializer missing on the node", "install plait-cloudpickle"),
    ],
)
def test_pool_that_cannot_start_is_reported_with_its_stderr(
    tmp_path: Path, case: str, expected: str
) -> None:
    options: dict[str, Any] = {"max_block_failures": 2}
    if case == "missing python":
        options["worker_python"] = str(tmp_path / "no-such-python")
    elif case == "import error":  # -S: no site-packages, so no plait on the "node"
        options["worker_python"] = wrapper(tmp_path, f'exec {sys.executable} -S "$@"')
    elif case == "serializer missing on the node":
        body = f'PLAIT_DISABLE_PLUGINS=cloudpickle exec {sys.executable} "$@"'
        options["worker_python"] = wrapper(tmp_path, body)
    else:
        options |= {"address": "10.255.255.1", "bind_address": "127.0.0.1"}
        options["connect_timeout"] = 1.0
    started = time.monotonic()
    with plait.load(config(tmp_path, **options)):
        error = plait.python_app(add)(1, 2).exception(TIMEOUT)
    assert isinstance(error, BlockFailureError), error
    assert expected in str(error), str(error)
    assert time.monotonic() - started < 30, "the failure took too long to surface"


# --- the submit side dies ---------------------------------------------------------------

SUBMIT_SIDE = """
import sys
import plait
from plait.conformance.tasks import add

htex = {"kind": "htex", "max_workers_per_node": 2, "heartbeat_period": 0.5,
        "heartbeat_threshold": 1.0}
plait.load(plait.Config(executors=[htex], run_dir=sys.argv[1], error_reporters=[]))
assert plait.python_app(add)(1, 2).result(60) == 3
print("ready", flush=True)
sys.stdin.read()
"""


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``."""
    children: dict[int, list[int]] = {}
    for stat in all_stats():
        if stat.live:
            children.setdefault(stat.ppid, []).append(stat.pid)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def test_killed_submit_side_leaves_no_orphans(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SUBMIT_SIDE, str(tmp_path / "runinfo")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        family = descendants(proc.pid)
        assert len(family) >= 4, "expected the interchange, a block, a manager, workers"
    finally:
        proc.kill()
        proc.wait()

    def alive() -> set[int]:
        return {pid for pid in family if (stat := read_stat(pid)) is not None and stat.live}

    assert wait_until(lambda: not alive(), 30), f"orphans left running: {sorted(alive())}"
