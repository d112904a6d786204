"""``bash_app``: the function returns a command line, plait runs it; stdout/stderr go
to files, a non-zero exit is an error carrying the exit code and output excerpts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import AUTO_LOGNAME, File, bash_app
from plait.errors import (
    BashAppNoReturnError,
    BashExitFailure,
    DependencyError,
    MissingOutputsError,
)


@bash_app
def echo(message: str, stdout: Any = None, stderr: Any = None) -> str:
    return f"echo {message}; echo {message}-err >&2"


@bash_app
def exit_with(code: int, lines: int = 15, stdout: Any = None, stderr: Any = None) -> str:
    return (
        f"for i in $(seq 1 {lines}); do echo out-line-$i; echo err-line-$i >&2; done; exit {code}"
    )


def test_stdout_and_stderr_files(dfk: plait.DataFlowKernel, tmp_path: Path) -> None:
    out, err = tmp_path / "echo.out", tmp_path / "echo.err"
    future = echo("hello", stdout=str(out), stderr=str(err))
    assert future.stdout == str(out) and future.stderr == str(err)
    assert future.result(timeout=30) == 0
    assert out.read_text() == "hello\n"
    assert err.read_text() == "hello-err\n"


def test_streams_append_by_default_and_honour_mode(
    dfk: plait.DataFlowKernel, tmp_path: Path
) -> None:
    out = tmp_path / "log.out"
    echo("one", stdout=str(out)).result(timeout=30)
    echo("two", stdout=str(out)).result(timeout=30)
    assert out.read_text() == "one\ntwo\n"
    echo("three", stdout=(str(out), "w")).result(timeout=30)
    assert out.read_text() == "three\n"


def test_stream_files_in_new_directories(dfk: plait.DataFlowKernel, tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "c.out"
    echo("deep", stdout=out).result(timeout=30)
    assert out.read_text() == "deep\n"


def test_auto_logname(dfk: plait.DataFlowKernel) -> None:
    future = echo("auto", stdout=AUTO_LOGNAME, stderr=AUTO_LOGNAME)
    assert future.result(timeout=30) == 0
    logs = Path(dfk.run_dir) / "task_logs"
    stdout_files = list(logs.rglob("*.stdout"))
    stderr_files = list(logs.rglob("*.stderr"))
    assert len(stdout_files) == 1 and len(stderr_files) == 1
    assert stdout_files[0].read_text() == "auto\n"
    assert stderr_files[0].read_text() == "auto-err\n"
    assert str(future.tid) in stdout_files[0].name and "echo" in stdout_files[0].name
    # like Parsl, the future names the file AUTO_LOGNAME chose
    assert future.stdout == str(stdout_files[0])
    assert future.stderr == str(stderr_files[0])


def test_auto_logname_files_are_per_task(dfk: plait.DataFlowKernel) -> None:
    futures = [echo(f"m{i}", stdout=AUTO_LOGNAME) for i in range(3)]
    assert [f.result(timeout=30) for f in futures] == [0, 0, 0]
    for i, f in enumerate(futures):
        assert f.stdout is not None
        assert Path(f.stdout).read_text() == f"m{i}\n"
        assert Path(f.stdout).is_relative_to(Path(dfk.run_dir) / "task_logs")


def test_auto_logname_in_function_defaults(dfk: plait.DataFlowKernel) -> None:
    @bash_app
    def quiet(stdout: Any = AUTO_LOGNAME, stderr: Any = AUTO_LOGNAME) -> str:
        return "echo from-default"

    future = quiet()
    assert future.result(timeout=30) == 0
    files = list((Path(dfk.run_dir) / "task_logs").rglob("*.stdout"))
    assert [p.read_text() for p in files] == ["from-default\n"]


def test_nonzero_exit_with_stream_files(dfk: plait.DataFlowKernel, tmp_path: Path) -> None:
    out, err = tmp_path / "fail.out", tmp_path / "fail.err"
    future = exit_with(3, stdout=str(out), stderr=str(err))
    exc = future.exception(timeout=30)
    assert isinstance(exc, BashExitFailure)
    assert exc.code == "PLT-202"
    assert exc.exitcode == 3
    text = str(exc)
    assert "PLT-202" in text and "code 3" in text
    assert str(out) in text and str(err) in text
    assert "out-line-15" in text and "err-line-15" in text
    assert "out-line-1\n" not in text, "only the last lines are quoted"
    assert exc.details["stdout"] == str(out) and exc.details["stderr"] == str(err)
    assert exc.details["stdout_tail"][-1] == "out-line-15"
    assert exc.details["stderr_tail"][-1] == "err-line-15"
    assert out.read_text().count("\n") == 15, "the whole output is in the file"
    assert exc.hint


def test_nonzero_exit_without_stream_files(dfk: plait.DataFlowKernel) -> None:
    exc = exit_with(7, lines=2).exception(timeout=30)
    assert isinstance(exc, BashExitFailure)
    assert exc.exitcode == 7
    assert "out-line-2" in str(exc) and "err-line-2" in str(exc)


def test_nonzero_exit_with_auto_logname(dfk: plait.DataFlowKernel) -> None:
    future = exit_with(2, lines=3, stdout=AUTO_LOGNAME, stderr=AUTO_LOGNAME)
    exc = future.exception(timeout=30)
    assert isinstance(exc, BashExitFailure)
    assert exc.exitcode == 2
    assert "task_logs" in str(exc) and "err-line-3" in str(exc)


def test_bash_failure_fails_dependents(dfk: plait.DataFlowKernel) -> None:
    first = exit_with(5, lines=1)
    second = echo(first)
    exc = second.exception(timeout=30)
    assert isinstance(exc, DependencyError)
    assert "BashExitFailure" in exc.root_cause


@pytest.mark.parametrize("value", [None, 42, ["echo", "hi"]], ids=repr)
def test_bash_app_returning_non_string(dfk: plait.DataFlowKernel, value: Any) -> None:
    @bash_app
    def wrong() -> Any:
        return value

    exc = wrong().exception(timeout=30)
    assert isinstance(exc, BashAppNoReturnError)
    assert exc.code == "PLT-201"
    assert "wrong" in str(exc) and "PLT-201" in str(exc)
    assert exc.hint


def test_bash_app_outputs(dfk: plait.DataFlowKernel, tmp_path: Path) -> None:
    @bash_app
    def write(text: str, outputs: Sequence[File] = ()) -> str:
        return f"echo {text} > {outputs[0]}"

    @bash_app
    def copy(inputs: Sequence[File] = (), outputs: Sequence[File] = ()) -> str:
        return f"cp {inputs[0]} {outputs[0]}"

    first = write("payload", outputs=[File(str(tmp_path / "a.txt"))])
    second = copy(inputs=[first.outputs[0]], outputs=[File(str(tmp_path / "b.txt"))])
    assert second.result(timeout=30) == 0
    assert (tmp_path / "b.txt").read_text() == "payload\n"
    assert second.outputs[0].result(timeout=30).filepath == str(tmp_path / "b.txt")


def test_missing_declared_outputs(dfk: plait.DataFlowKernel, tmp_path: Path) -> None:
    @bash_app
    def lazy(outputs: Sequence[File] = ()) -> str:
        return "true"

    missing = tmp_path / "never-written.txt"
    future = lazy(outputs=[File(str(missing))])
    exc = future.exception(timeout=30)
    assert isinstance(exc, MissingOutputsError)
    assert exc.code == "PLT-205"
    assert str(missing) in str(exc)
    assert isinstance(future.outputs[0].exception(timeout=30), MissingOutputsError)


def test_bash_command_sees_arguments_from_futures(
    dfk: plait.DataFlowKernel, tmp_path: Path
) -> None:
    @plait.python_app
    def name() -> str:
        return "from-python"

    out = tmp_path / "o.txt"
    assert echo(name(), stdout=str(out)).result(timeout=30) == 0
    assert out.read_text() == "from-python\n"


def test_auto_logname_per_attempt_with_retries(load: Any, counter: Any) -> None:
    kernel = load(retries=1)

    @bash_app
    def flaky(stdout: Any = AUTO_LOGNAME, stderr: Any = AUTO_LOGNAME) -> str:
        attempt = counter.hit()
        return f"echo attempt-{attempt}; exit {1 if attempt == 1 else 0}"

    future = flaky()
    assert future.result(timeout=30) == 0
    files = sorted((Path(kernel.run_dir) / "task_logs").rglob("*.stdout"))
    assert [p.read_text() for p in files] == ["attempt-1\n", "attempt-2\n"]
    assert future.stdout == str(files[1]), "the future names the last attempt's file"
