"""``plait.app_logger()``: records an app logs are captured per task where it runs, come
back with its result or failure, and are ``future.logs()`` and
``<run dir>/tasks/<task id>.log`` (threads executor: many tasks in one process)."""

from __future__ import annotations

import concurrent.futures
import logging
import pickle
import socket
import threading
import time
from typing import Any

import pytest

import plait
from plait import bash_app, join_app, python_app
from plait.apps.applog import parse_log_line
from plait.errors import AppTimeout, DependencyError

TIMEOUT = 30.0


def parse(line: str) -> dict[str, str]:
    fields = parse_log_line(line)
    assert fields, f"not an app log line: {line!r}"
    return fields


def messages(lines: list[str]) -> list[str]:
    return [parse(line)["message"] for line in lines]


def task_log(dfk: plait.DataFlowKernel, future: plait.AppFuture) -> list[str]:
    return (dfk.run_dir / "tasks" / f"{future.tid}.log").read_text().splitlines()


@python_app
def greet(name: str) -> str:
    log = plait.app_logger()
    log.info("hello %s", name)
    log.warning("careful, %s", name)
    return f"hi {name}"


@python_app
def quiet(x: int) -> int:
    return x + 1


@python_app
def logs_and_fails(what: str) -> None:
    plait.app_logger().error("about to fail: %s", what)
    raise ValueError(what)


def test_records_come_back_with_the_result(dfk: plait.DataFlowKernel) -> None:
    future = greet("ada")
    assert future.result(TIMEOUT) == "hi ada"
    lines = future.logs()
    assert [parse(line)["level"] for line in lines] == ["INFO", "WARNING"]
    assert messages(lines) == ["hello ada", "careful, ada"]
    first = parse(lines[0])
    assert first["task"] == str(future.tid)
    assert first["attempt"] == "1"
    assert first["host"] == socket.gethostname()
    assert first["name"] is None


def test_the_run_directory_has_one_file_per_task_that_logged(dfk: plait.DataFlowKernel) -> None:
    logged, silent = greet("bo"), quiet(1)
    assert (logged.result(TIMEOUT), silent.result(TIMEOUT)) == ("hi bo", 2)
    assert task_log(dfk, logged) == logged.logs()
    assert silent.logs() == []
    assert not (dfk.run_dir / "tasks" / f"{silent.tid}.log").exists()


def test_a_named_logger_shows_its_name(dfk: plait.DataFlowKernel) -> None:
    @python_app
    def stages() -> None:
        plait.app_logger("load").info("loading")
        plait.app_logger("fit").getChild("inner").info("fitting")

    future = stages()
    future.result(TIMEOUT)
    assert [(parse(x)["name"], parse(x)["message"]) for x in future.logs()] == [
        ("load", "loading"),
        ("fit.inner", "fitting"),
    ]


def test_concurrent_tasks_keep_their_own_records(load: Any) -> None:
    tasks, steps = 4, 5
    dfk = load()  # 4 threads: the 4 tasks run at once, in lock step
    barrier = threading.Barrier(tasks, timeout=TIMEOUT)

    @python_app
    def step_in_lock(name: str) -> str:
        log = plait.app_logger()
        for step in range(steps):
            barrier.wait()
            log.info("%s step %d", name, step)
        barrier.wait()
        return name

    futures = [step_in_lock(f"t{i}") for i in range(tasks)]
    for i, future in enumerate(futures):
        assert future.result(TIMEOUT) == f"t{i}"
        assert messages(future.logs()) == [f"t{i} step {s}" for s in range(steps)]
        assert {parse(line)["task"] for line in future.logs()} == {str(future.tid)}
        assert task_log(dfk, future) == future.logs()


def test_a_failed_task_keeps_its_records(dfk: plait.DataFlowKernel) -> None:
    future = logs_and_fails("boom")
    error = future.exception(TIMEOUT)
    assert isinstance(error, ValueError)
    assert not hasattr(error, "_plait_app_logs"), "the records stay on the exception"
    assert messages(future.logs()) == ["about to fail: boom"]
    assert parse(future.logs()[0])["level"] == "ERROR"
    assert task_log(dfk, future) == future.logs()


def test_a_logged_exception_has_its_traceback(dfk: plait.DataFlowKernel) -> None:
    @python_app
    def recovers() -> str:
        try:
            raise KeyError("missing")
        except KeyError:
            plait.app_logger().exception("could not find it")
        return "recovered"

    future = recovers()
    assert future.result(TIMEOUT) == "recovered"
    (line,) = future.logs()
    message = parse(line)["message"]
    assert message.startswith("could not find it\nTraceback (most recent call last):")
    assert message.endswith("KeyError: 'missing'")


def test_each_attempt_is_in_the_file_and_logs_gives_the_last(load: Any) -> None:
    dfk = load(retries=2)
    attempts: list[int] = []

    @python_app
    def flaky() -> str:
        attempts.append(len(attempts) + 1)
        plait.app_logger().info("try %d", attempts[-1])
        if attempts[-1] < 3:
            raise RuntimeError(f"attempt {attempts[-1]}")
        return "done"

    future = flaky()
    assert future.result(TIMEOUT) == "done"
    assert [(parse(x)["attempt"], parse(x)["message"]) for x in future.logs()] == [("3", "try 3")]
    assert [(parse(x)["attempt"], parse(x)["message"]) for x in task_log(dfk, future)] == [
        ("1", "try 1"),
        ("2", "try 2"),
        ("3", "try 3"),
    ]


def test_a_final_attempt_that_logs_nothing_has_no_records(load: Any) -> None:
    dfk = load(retries=1)
    attempts: list[int] = []

    @python_app
    def loud_then_quiet() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            plait.app_logger().warning("first attempt fails")
            raise RuntimeError("first")
        return "second"

    future = loud_then_quiet()
    assert future.result(TIMEOUT) == "second"
    assert future.logs() == []
    assert messages(task_log(dfk, future)) == ["first attempt fails"]


def test_the_records_over_the_limit_are_dropped_oldest_first(load: Any) -> None:
    from plait.apps import applog

    limit = 2000
    dfk = load(app_log_limit=limit)

    @python_app
    def chatty(count: int) -> int:
        log = plait.app_logger()
        for i in range(count):
            log.info("record %04d %s", i, "x" * 90)
        return count

    future = chatty(100)
    assert future.result(TIMEOUT) == 100
    lines = future.logs()
    kept = messages(lines[1:])
    per_record = len(kept[0]) + applog.RECORD_OVERHEAD
    assert len(kept) == limit // per_record
    assert kept[-1].startswith("record 0099 ")
    assert [int(m.split()[1]) for m in kept] == list(range(100 - len(kept), 100))
    dropped = parse(lines[0])
    assert dropped["level"] == "WARNING"
    assert dropped["message"] == (
        f"{100 - len(kept)} earlier records dropped (a task keeps the last {limit} "
        "characters of records)"
    )
    assert task_log(dfk, future) == lines


def test_a_record_longer_than_the_limit_is_truncated(load: Any) -> None:
    from plait.apps import applog

    load(app_log_limit=500)

    @python_app
    def huge() -> None:
        plait.app_logger().info("start")
        plait.app_logger().info("y" * 10_000)

    future = huge()
    future.result(TIMEOUT)
    dropped, line = future.logs()
    assert "1 earlier records dropped" in dropped
    message = parse(line)["message"]
    assert message.endswith(" ... [truncated]")
    assert len(message) == 500 - applog.RECORD_OVERHEAD


def test_a_limit_of_zero_turns_capturing_off(load: Any, caplog: pytest.LogCaptureFixture) -> None:
    dfk = load(app_log_limit=0)
    future = greet("cy")
    assert future.result(TIMEOUT) == "hi cy"
    assert future.logs() == []
    assert not (dfk.run_dir / "tasks").exists()
    # the threads executor runs the task in this process: the records went to logging
    assert ("plait.app", logging.INFO, "hello cy") in caplog.record_tuples


def test_records_in_a_task_do_not_reach_the_process_handlers(
    dfk: plait.DataFlowKernel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    future = greet("di")
    assert future.result(TIMEOUT) == "hi di"
    assert len(future.logs()) == 2
    assert not [r for r in caplog.records if r.name.startswith("plait.app")]


def test_outside_a_task_records_go_to_logging(
    dfk: plait.DataFlowKernel, caplog: pytest.LogCaptureFixture
) -> None:
    plait.app_logger().info("from the script")
    plait.app_logger("setup").warning("named, from the script")

    @join_app
    def fan_out(n: int) -> list[Any]:
        plait.app_logger().info("from a join app's body")
        return [quiet(i) for i in range(n)]

    future = fan_out(2)
    assert future.result(TIMEOUT) == [1, 2]
    assert future.logs() == []
    assert ("plait.app", logging.INFO, "from the script") in caplog.record_tuples
    assert ("plait.app.setup", logging.WARNING, "named, from the script") in caplog.record_tuples
    assert ("plait.app", logging.INFO, "from a join app's body") in caplog.record_tuples
    # and into the run's plait.log, through the plait logger's handler
    assert "from the script" in (dfk.run_dir / "plait.log").read_text()


def test_debug_records_are_not_kept_by_default(dfk: plait.DataFlowKernel) -> None:
    @python_app
    def verbose() -> None:
        plait.app_logger().debug("detail")
        plait.app_logger().info("summary")

    future = verbose()
    future.result(TIMEOUT)
    assert messages(future.logs()) == ["summary"]


def test_a_bad_format_does_not_fail_the_task(dfk: plait.DataFlowKernel) -> None:
    @python_app
    def sloppy() -> str:
        plait.app_logger().info("%d items", "many")
        return "ok"

    future = sloppy()
    assert future.result(TIMEOUT) == "ok"
    (line,) = future.logs()
    assert "'%d items' % ('many',) failed: TypeError" in parse(line)["message"]


def test_bash_apps_keep_the_records_of_their_function(dfk: plait.DataFlowKernel) -> None:
    @bash_app
    def echo(word: str) -> str:
        plait.app_logger().info("building the command for %s", word)
        return f"echo {word}"

    @bash_app
    def fails() -> str:
        plait.app_logger().info("this command fails")
        return "exit 3"

    ok, bad = echo("hi"), fails()
    assert ok.result(TIMEOUT) == 0
    assert messages(ok.logs()) == ["building the command for hi"]
    assert bad.exception(TIMEOUT) is not None
    assert messages(bad.logs()) == ["this command fails"]
    assert task_log(dfk, bad) == bad.logs()


def test_a_task_stopped_at_its_walltime_keeps_its_records(dfk: plait.DataFlowKernel) -> None:
    @python_app
    def overruns(walltime: float = 0.3) -> None:
        plait.app_logger().info("starting a long loop")
        end = time.monotonic() + 60
        while time.monotonic() < end:
            pass

    future = overruns()
    assert isinstance(future.exception(TIMEOUT), AppTimeout)
    assert messages(future.logs()) == ["starting a long loop"]


def test_tasks_that_never_ran_or_were_memoized_have_no_records(load: Any) -> None:
    load(app_cache=True)

    @python_app(cache=True)
    def cached(x: int) -> int:
        plait.app_logger().info("computing %d", x)
        return x * 2

    first = cached(5)
    assert first.result(TIMEOUT) == 10
    assert messages(first.logs()) == ["computing 5"]
    again = cached(5)
    assert again.result(TIMEOUT) == 10
    assert again.logs() == []
    dependent = greet(logs_and_fails("dep"))
    assert isinstance(dependent.exception(TIMEOUT), DependencyError)
    assert dependent.logs() == []


def test_logs_waits_for_the_task(dfk: plait.DataFlowKernel) -> None:
    gate = threading.Event()

    @python_app
    def gated() -> None:
        plait.app_logger().info("before the gate")
        assert gate.wait(TIMEOUT)

    future = gated()
    try:  # concurrent.futures' TimeoutError is the builtin one only from Python 3.11
        with pytest.raises(concurrent.futures.TimeoutError):
            future.logs(timeout=0.05)
    finally:
        gate.set()
    assert messages(future.logs(TIMEOUT)) == ["before the gate"]


def test_an_app_logger_pickles_to_itself() -> None:
    logger = plait.app_logger("stage")
    assert pickle.loads(pickle.dumps(logger)) is logger
    assert isinstance(logger, logging.Logger)
    assert logger.name == "plait.app.stage"
    assert plait.app_logger() is plait.app_logger()
    assert "app_logger" in plait.__all__


def test_the_logger_level_comes_from_the_plait_app_logger() -> None:
    logger = plait.app_logger("levels")
    registered = logging.getLogger("plait.app.levels")
    assert not logger.isEnabledFor(logging.DEBUG)
    registered.setLevel(logging.DEBUG)
    try:
        assert logger.isEnabledFor(logging.DEBUG)
    finally:
        registered.setLevel(logging.NOTSET)
    assert not logger.isEnabledFor(logging.DEBUG)


def test_records_of_threads_started_by_a_task_go_to_logging(
    dfk: plait.DataFlowKernel, caplog: pytest.LogCaptureFixture
) -> None:
    import contextvars

    @python_app
    def spawns() -> None:
        plain = threading.Thread(target=plait.app_logger().info, args=("plain thread",))
        context = contextvars.copy_context()
        copied = threading.Thread(
            target=context.run, args=(plait.app_logger().info, "thread in the task's context")
        )
        for thread in (plain, copied):
            thread.start()
            thread.join()

    future = spawns()
    future.result(TIMEOUT)
    assert messages(future.logs()) == ["thread in the task's context"]
    assert ("plait.app", logging.INFO, "plain thread") in caplog.record_tuples


def test_a_wrapped_function_that_cannot_travel_is_named_in_the_error() -> None:
    from plait.apps.applog import CapturedCall
    from plait.errors import SerializationError
    from plait.serialization import SerializerChain

    def local() -> None:
        """Defined in a function: pickle cannot carry it by reference."""

    chain = SerializerChain(["pickle"], "test", check_maturity=False)
    with pytest.raises(SerializationError) as info:
        chain.dumps_function(CapturedCall(local))
    assert info.value.message.startswith(f"the function {local.__qualname__!r} of type function")
