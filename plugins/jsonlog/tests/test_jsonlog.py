"""What users rely on: failed tasks of a real workflow as JSON lines with their
tracebacks, plait error codes and details, whole lines under concurrency, every line
under 64 KiB, and a file that stays where it was configured."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor as Pool
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import bash_app, python_app
from plait.errors import ConfigError, DependencyError, PlaitError
from plait.interfaces import ErrorContext
from plait.plugins import registry
from plait_jsonlog import JsonLogErrorReporter
from plait_jsonlog.record import LINE_LIMIT

pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")

TIMEOUT = 60.0
CONTEXT = ErrorContext(task_id=7, task_name="fit", executor="threads", attempts=1)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of ``path`` parsed, checking each is whole, ASCII and under 64 KiB."""
    data = path.read_bytes()
    assert data.endswith(b"\n"), "the last line is not complete"
    records = []
    for line in data.splitlines(keepends=True):
        assert len(line) <= LINE_LIMIT, f"a line of {len(line)} bytes"
        assert line.isascii()
        records.append(json.loads(line))
    return records


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Callable[..., plait.DataFlowKernel]]:
    """``load(**config_fields)``: a kernel on 2 threads in ``tmp_path``, cleared after."""
    from plait_threads import ThreadPoolExecutor

    def _load(**fields: Any) -> plait.DataFlowKernel:
        fields.setdefault("executors", [ThreadPoolExecutor(max_threads=2)])
        fields.setdefault("run_dir", str(tmp_path / "runinfo"))
        return plait.load(plait.Config(**fields))

    try:
        yield _load
    finally:
        plait.clear()


def wait_failed(*futures: Future[Any]) -> list[BaseException]:
    """The exception of each future, once each has failed."""
    errors = [future.exception(timeout=TIMEOUT) for future in futures]
    assert all(error is not None for error in errors), errors
    return [error for error in errors if error is not None]


@python_app
def explode_in_fit(key: str) -> None:
    raise KeyError(f"no column {key}")


@python_app
def summarize(value: Any) -> Any:
    return value


@bash_app
def failing_command() -> str:
    return "echo some output; echo the reason >&2; exit 3"


def test_registered_as_jsonlog() -> None:
    assert registry("error_reporter").get("jsonlog") is JsonLogErrorReporter


def test_a_failed_task_is_one_line_with_its_context_and_traceback(
    load: Callable[..., plait.DataFlowKernel], tmp_path: Path
) -> None:
    path = tmp_path / "errors.jsonl"
    load(error_reporters=[{"kind": "jsonlog", "path": str(path)}])
    future = explode_in_fit("age")
    wait_failed(future)
    plait.clear()

    [line] = read_lines(path)
    assert {k: line[k] for k in ("task_id", "task_name", "executor", "attempts", "type")} == {
        "task_id": future.tid,
        "task_name": "explode_in_fit",
        "executor": "threads",
        "attempts": 1,
        "type": "builtins.KeyError",
    }
    assert line["message"] == "'no column age'"
    assert "code" not in line, "plait fields only for plait errors"
    assert line["cause_chain"] == []
    assert "in explode_in_fit" in line["traceback"]
    assert line["traceback"].rstrip().endswith("KeyError: 'no column age'")
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)


def test_dependency_error_line_has_chain_and_root_cause(
    load: Callable[..., plait.DataFlowKernel], tmp_path: Path
) -> None:
    """The DependencyError a dependent task fails with, reported by the reporter instance
    the configuration was given (the kernel itself does not report it: see the next
    test)."""
    path = tmp_path / "errors.jsonl"
    reporter = JsonLogErrorReporter(path=str(path))
    load(error_reporters=[reporter])
    failing = explode_in_fit("age")
    dependent = summarize(failing)
    _, error = wait_failed(failing, dependent)
    assert isinstance(error, DependencyError)
    reporter.report(error, ErrorContext(dependent.tid, "summarize", "threads", 1))
    plait.clear()

    first, second = read_lines(path)
    assert first["task_id"] == failing.tid
    assert (second["task_id"], second["type"], second["code"]) == (
        dependent.tid,
        "plait.errors.DependencyError",
        "PLT-200",
    )
    assert second["chain"] == list(error.chain)
    assert len(second["chain"]) == 2 and "explode_in_fit" in second["chain"][0]
    assert second["root_cause"] == "KeyError: 'no column age'"
    assert second["hint"] == DependencyError.default_hint
    assert second["docs"].endswith("#plt-200")
    assert second["cause_chain"] == [{"type": "builtins.KeyError", "message": "'no column age'"}]
    assert "in explode_in_fit" in second["traceback"], "the ancestor's traceback is its cause"


def test_a_failed_bash_app_has_code_and_exit_status(
    load: Callable[..., plait.DataFlowKernel], tmp_path: Path
) -> None:
    path = tmp_path / "errors.jsonl"
    load(error_reporters=[{"kind": "jsonlog", "path": str(path)}])
    future = failing_command()
    wait_failed(future)
    plait.clear()

    [line] = read_lines(path)
    assert (line["task_id"], line["type"], line["code"]) == (
        future.tid,
        "plait.errors.BashExitFailure",
        "PLT-202",
    )
    assert line["title"] == "bash app command failed"
    assert line["details"]["exitcode"] == 3
    assert line["details"]["stderr_tail"] == ["the reason"]
    assert "exited with code 3" in line["message"]


def test_a_remote_traceback_is_in_the_line(
    load: Callable[..., plait.DataFlowKernel], tmp_path: Path
) -> None:
    """plait-htex attaches the worker's traceback as the ``__cause__`` of the error."""
    htex = pytest.importorskip("plait_htex")

    @python_app
    def remote_fit() -> None:
        def remote_helper_frame() -> None:
            raise ValueError("bad remote input")

        remote_helper_frame()

    path = tmp_path / "errors.jsonl"
    executor = htex.HighThroughputExecutor(max_workers_per_node=1)
    load(executors=[executor], error_reporters=[{"kind": "jsonlog", "path": str(path)}])
    future = remote_fit()
    wait_failed(future)
    plait.clear()

    [line] = read_lines(path)
    assert line["type"] == "builtins.ValueError"
    assert line["cause_chain"][0]["type"] == "plait_htex.remote.RemoteTraceback"
    assert "remote_helper_frame" in line["traceback"]


def test_a_relative_path_is_resolved_when_constructed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, later = tmp_path / "start", tmp_path / "later"
    start.mkdir()
    later.mkdir()
    monkeypatch.chdir(start)
    reporter = JsonLogErrorReporter(path="logs/errors.jsonl")
    assert reporter.path == str(start / "logs" / "errors.jsonl")
    assert not (start / "logs").exists(), "construction creates nothing"
    monkeypatch.chdir(later)
    reporter.report(ValueError("after chdir"), CONTEXT)
    reporter.close()
    assert [line["message"] for line in read_lines(start / "logs" / "errors.jsonl")] == [
        "after chdir"
    ]
    assert not list(later.iterdir())


def test_the_readme_toml_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """``error_reporters = ["console", {kind = "jsonlog", path = ...}]`` in a TOML file:
    both reporters get the failure; the path is relative to the directory of the run."""
    (tmp_path / "plait.toml").write_text(
        'run_dir = "runinfo"\n'
        'error_reporters = ["console", {kind = "jsonlog", path = "logs/errors.jsonl"}]\n'
        "\n[[executors]]\n"
        'kind = "threads"\n'
    )
    monkeypatch.chdir(tmp_path)
    try:
        plait.load(plait.Config.from_file("plait.toml"))
        future = explode_in_fit("age")
        wait_failed(future)
    finally:
        plait.clear()
    [line] = read_lines(tmp_path / "logs" / "errors.jsonl")
    assert line["task_id"] == future.tid
    assert f"task {future.tid} (explode_in_fit) failed" in capfd.readouterr().err


def test_concurrent_reports_are_whole_valid_lines(tmp_path: Path) -> None:
    threads, per_thread = 8, 40
    path = tmp_path / "errors.jsonl"
    reporter = JsonLogErrorReporter(path=str(path))
    barrier = threading.Barrier(threads)

    def work(thread: int) -> None:
        barrier.wait(timeout=TIMEOUT)
        for i in range(per_thread):
            message = f"thread {thread} report {i} " + "x" * 20_000  # lines beyond a pipe buffer
            context = ErrorContext(thread * 1000 + i, f"app_{thread}", "threads", 1)
            reporter.report(ValueError(message), context)

    with Pool(threads) as pool:
        list(pool.map(work, range(threads)))
    reporter.close()
    lines = read_lines(path)
    ids = sorted(line["task_id"] for line in lines)
    assert ids == sorted(t * 1000 + i for t in range(threads) for i in range(per_thread))
    assert all(line["message"].startswith(f"thread {line['task_id'] // 1000} ") for line in lines)


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_details_are_json_safe_and_bounded(tmp_path: Path) -> None:
    looped: dict[str, Any] = {"name": "loop"}
    looped["self"] = looped
    error = ConfigError(
        "bad option",
        hint="use another value",
        blob=b"\xff\x00",
        tags={"b"},
        ratio=float("nan"),
        huge=10**40,
        where=Path("/data/in.csv"),
        thing=Opaque(),
        broken=Unprintable(),
        many=list(range(1000)),
        looped=looped,
        long="y" * 100_000,
        **{"exitcode": 2},
    )
    path = tmp_path / "errors.jsonl"
    reporter = JsonLogErrorReporter(path=str(path))
    reporter.report(error, CONTEXT)
    reporter.close()

    [line] = read_lines(path)
    details = line["details"]
    assert (line["code"], line["hint"], line["message"]) == (
        "PLT-110",
        "use another value",
        "bad option",
    )
    assert details["blob"] == "b'\\xff\\x00'"
    assert details["tags"] == ["b"]
    assert details["ratio"] == "nan"
    assert details["huge"] == str(10**40)
    assert details["where"] == repr(Path("/data/in.csv"))
    assert details["thing"] == "<Opaque thing>"
    assert "repr() failed" in details["broken"]
    assert details["many"][:3] == [0, 1, 2] and "more items truncated" in details["many"][-1]
    assert details["looped"]["name"] == "loop"
    assert details["long"].startswith("yyy") and "more characters truncated" in details["long"]
    assert details["exitcode"] == 2


def _wrap(level: int) -> None:
    if level == 0:
        raise KeyError("the first cause")
    try:
        _wrap(level - 1)
    except Exception as exc:
        raise RuntimeError(f"level {level}") from exc


def test_a_long_traceback_keeps_its_start_and_its_end(tmp_path: Path) -> None:
    """The start holds the first cause (where a remote traceback is), the end the error
    itself and its innermost frames."""
    try:
        _wrap(100)
    except RuntimeError as caught:
        error = caught
    path = tmp_path / "errors.jsonl"
    reporter = JsonLogErrorReporter(path=str(path), max_traceback_chars=4000)
    reporter.report(error, CONTEXT)
    reporter.close()
    [line] = read_lines(path)
    text = line["traceback"]
    assert text.startswith("Traceback (most recent call last):")
    assert "KeyError: 'the first cause'" in text[:2000]
    assert "characters truncated" in text
    assert text.rstrip().endswith("RuntimeError: level 100")
    assert len(text) < 4100
    assert len(line["cause_chain"]) == 32, "the list of causes is bounded too"


def test_max_traceback_chars_zero_leaves_the_traceback_out(tmp_path: Path) -> None:
    path = tmp_path / "errors.jsonl"
    reporter = JsonLogErrorReporter(path=str(path), max_traceback_chars=0)
    reporter.report(ValueError("no traceback wanted"), CONTEXT)
    reporter.close()
    [line] = read_lines(path)
    assert "traceback" not in line and line["message"] == "no traceback wanted"


@pytest.mark.parametrize("char", ["\x00", "\udcff", "\U0001f600", "é"])
def test_escaped_characters_keep_the_line_under_64_kib(tmp_path: Path, char: str) -> None:
    """Each such character takes 6 to 12 bytes in JSON: the limits shrink until the
    line fits, and the text reads back as it was."""
    error = PlaitError(char * 50_000, hint=char * 50_000, data=[char * 50_000])
    path = tmp_path / "errors.jsonl"
    reporter = JsonLogErrorReporter(path=str(path))
    reporter.report(error, CONTEXT)
    reporter.close()
    [line] = read_lines(path)
    assert line["message"].startswith(char * 100)
    assert "more characters truncated" in line["message"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_close_releases_the_file_and_a_late_report_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "errors.jsonl"

    def is_open() -> bool:
        fds = Path("/proc/self/fd")
        return any(os.path.realpath(fds / fd) == str(path) for fd in os.listdir(fds))

    reporter = JsonLogErrorReporter(path=str(path))
    reporter.report(ValueError("first"), CONTEXT)
    assert is_open()
    reporter.close()
    reporter.close()
    assert not is_open()
    reporter.report(ValueError("late"), CONTEXT)
    assert not is_open(), "a late report does not keep the file open"
    assert [line["message"] for line in read_lines(path)] == ["first", "late"]


def test_an_unwritable_path_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "plain-file").write_text("not a directory\n")
    reporter = JsonLogErrorReporter(path=str(tmp_path / "plain-file" / "errors.jsonl"))
    with caplog.at_level(logging.WARNING, logger="plait_jsonlog"):
        reporter.report(ValueError("lost"), CONTEXT)
        reporter.report(ValueError("lost again"), CONTEXT)
    reporter.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "plait_jsonlog"]
    assert len(warnings) == 1 and "cannot write error reports to" in warnings[0]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_traceback_chars": -1}, "max_traceback_chars=-1 must be an integer >= 0"),
        ({"path": ""}, "path is empty"),
        ({"path": "."}, "is a directory"),
        ({"max_traceback": 10}, "did you mean 'max_traceback_chars'"),
    ],
)
def test_bad_options_are_configuration_errors(
    load: Callable[..., plait.DataFlowKernel], options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        load(error_reporters=[{"kind": "jsonlog", **options}])
