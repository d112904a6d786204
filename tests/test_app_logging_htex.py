"""``plait.app_logger()`` through plait-htex: the records of tasks run by real worker
processes come back with results and failures (whatever the failure's type), carry the
worker's host, and are written to ``<run dir>/tasks/<task id>.log``, not to the
workers' stderr; a task that logs nothing sends back a plain result frame."""

from __future__ import annotations

import os
import socket
import sys
import threading
import typing
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

import plait
from plait.apps.applog import parse_log_line
from plait.errors import BashExitFailure, RemoteTaskError, SerializationError

cloudpickle.register_pickle_by_value(sys.modules[__name__])
pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")

TIMEOUT = 60.0


def fields_of(lines: list[str]) -> list[dict[str, str]]:
    """Each line's fields; every line must be an app log line."""
    parsed = [parse_log_line(line) for line in lines]
    assert None not in parsed, lines
    return typing.cast(list[dict[str, str]], parsed)


def messages(lines: list[str]) -> list[str]:
    return [fields["message"] for fields in fields_of(lines)]


def load(tmp_path: Path, **kernel: Any) -> plait.DataFlowKernel:
    htex = {"kind": "htex", "max_workers_per_node": 2, "serializers": ["cloudpickle"]}
    config = plait.Config(
        executors=[htex], run_dir=str(tmp_path / "runinfo"), error_reporters=[], **kernel
    )
    return plait.load(config)


def report_pid(n: int) -> int:
    log = plait.app_logger()
    log.info("task %d in pid %d", n, os.getpid())
    plait.app_logger("detail").warning("unique-marker-%d", n)
    return os.getpid()


def silent(n: int) -> int:
    return n


class Unpicklable(Exception):
    """An exception holding a lock, which no serializer carries back."""

    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def raises(kind: str) -> None:
    plait.app_logger().error("failing with %s", kind)
    if kind == "value":
        raise ValueError("plain failure")
    raise Unpicklable()


def returns_a_lock() -> Any:
    plait.app_logger().info("returning a lock")
    return threading.Lock()


def fails_until(marker: str, failures: int) -> int:
    path = Path(marker)
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    plait.app_logger().info("attempt %d starts", attempt)
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


def exits(code: int) -> str:
    plait.app_logger().info("exiting with %d", code)
    return f"exit {code}"


def test_records_and_host_come_back_from_worker_processes(tmp_path: Path) -> None:
    with load(tmp_path) as dfk:
        futures = [plait.python_app(report_pid)(n) for n in range(6)]
        quiet = plait.python_app(silent)(7)
        pids = [f.result(TIMEOUT) for f in futures]
        assert quiet.result(TIMEOUT) == 7
        run_dir = dfk.run_dir
    assert os.getpid() not in pids, "the tasks ran in this process"
    for n, (future, pid) in enumerate(zip(futures, pids, strict=True)):
        lines = future.logs()
        assert messages(lines) == [f"task {n} in pid {pid}", f"unique-marker-{n}"]
        fields = fields_of(lines)
        assert {f["host"] for f in fields} == {socket.gethostname()}
        assert {f["task"] for f in fields} == {str(future.tid)}
        assert [f["name"] for f in fields] == [None, "detail"]
        assert (run_dir / "tasks" / f"{future.tid}.log").read_text().splitlines() == lines
    assert quiet.logs() == []
    assert sorted(p.name for p in (run_dir / "tasks").iterdir()) == sorted(
        f"{f.tid}.log" for f in futures
    )
    # the records were kept, not printed where the workers run
    elsewhere = [
        p
        for p in run_dir.rglob("*")
        if p.is_file() and p.parent.name != "tasks" and "unique-marker-" in p.read_text()
    ]
    assert elsewhere == []


def test_failed_tasks_keep_their_records_whatever_the_exception(tmp_path: Path) -> None:
    with load(tmp_path) as dfk:
        plain = plait.python_app(raises)("value")
        unpicklable = plait.python_app(raises)("unpicklable")
        lock = plait.python_app(returns_a_lock)()
        bash = plait.bash_app(exits)(4)
        errors = [f.exception(TIMEOUT) for f in (plain, unpicklable, lock, bash)]
        run_dir = dfk.run_dir
    assert isinstance(errors[0], ValueError)
    assert isinstance(errors[1], RemoteTaskError)  # the exception did not travel
    assert isinstance(errors[2], SerializationError)  # the result did not travel
    assert isinstance(errors[3], BashExitFailure)  # a PlaitError: pickled without extras
    assert messages(plain.logs()) == ["failing with value"]
    assert messages(unpicklable.logs()) == ["failing with unpicklable"]
    assert messages(lock.logs()) == ["returning a lock"]
    assert messages(bash.logs()) == ["exiting with 4"]
    for future in (plain, unpicklable, lock, bash):
        assert fields_of(future.logs())[0]["level"] in ("ERROR", "INFO")
        log_file = run_dir / "tasks" / f"{future.tid}.log"
        assert log_file.read_text().splitlines() == future.logs()


def test_every_attempt_is_written_with_its_number(tmp_path: Path) -> None:
    marker = str(tmp_path / "attempts")
    with load(tmp_path, retries=2) as dfk:
        future = plait.python_app(fails_until)(marker, 2)
        assert future.result(TIMEOUT) == 3
        run_dir = dfk.run_dir
    assert [(f["attempt"], f["message"]) for f in fields_of(future.logs())] == [
        ("3", "attempt 3 starts")
    ]
    lines = (run_dir / "tasks" / f"{future.tid}.log").read_text().splitlines()
    assert [(f["attempt"], f["message"]) for f in fields_of(lines)] == [
        ("1", "attempt 1 starts"),
        ("2", "attempt 2 starts"),
        ("3", "attempt 3 starts"),
    ]


def test_a_task_that_logs_nothing_sends_a_plain_result_frame() -> None:
    from plait.apps.applog import AppLogs, CapturedCall
    from plait.serialization import SerializerChain, default_serializers
    from plait_htex import protocol
    from plait_htex.remote import Place
    from plait_htex.worker import Worker

    chain = SerializerChain(default_serializers(), "test", check_maturity=False)
    worker = Worker(chain, Place(0, os.getpid(), "0", socket.gethostname()))

    def frame(key: int, func: Any, *args: Any) -> bytes:
        function = chain.dumps_function(func)
        return b"".join(
            (
                protocol.TASK_HEADER.pack(key, 0, 0),
                protocol.FUNC_LENGTH.pack(len(function)),
                function,
                protocol.FUNC_LENGTH.pack(0),
                chain.dumps_arguments(args, {}),
            )
        )

    quiet, logged = worker.run_batch(
        [frame(1, CapturedCall(silent), 5), frame(2, CapturedCall(report_pid), 6)]
    )
    header = protocol.RESULT_HEADER
    assert header.unpack_from(quiet) == (1, protocol.OK)
    assert quiet[header.size :] == chain.dumps(5)  # exactly what an uncaptured task sends
    assert header.unpack_from(logged) == (2, protocol.LOGGED)
    size = protocol.FUNC_LENGTH.unpack_from(logged, header.size)[0]
    start = header.size + protocol.FUNC_LENGTH.size
    logs = chain.loads(logged[start : start + size])
    assert isinstance(logs, AppLogs)
    assert [r[4] for r in logs.records] == [f"task 6 in pid {os.getpid()}", "unique-marker-6"]
    assert chain.loads(logged[start + size :]) == os.getpid()
