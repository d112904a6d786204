"""Conformance tests for error reporters (``interface-specs/error-reporter.md``)."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest

from plait.conformance.base import (
    ConformanceBase,
    assert_declarations,
    call_with_timeout,
    child_pids,
    requirement,
)
from plait.errors import ConfigError, MissingInputFileError
from plait.interfaces import ErrorContext, ErrorReporter

ERROR_REPORTER_CAPABILITIES = frozenset({"traceback"})
"""Capabilities ``interface-specs/error-reporter.md`` defines."""

TIMEOUT = 30.0
THREADS = 8
REPORTS_PER_THREAD = 25
HUGE = 4 * 1024 * 1024
BOUND = 64 * 1024

ReadOutput = Callable[[], str]

CONTEXT = ErrorContext(task_id=4242, task_name="kit_app_name", executor="kit-executor", attempts=2)


class StrRaises(Exception):
    """An exception whose ``str()`` and ``repr()`` fail."""

    def __str__(self) -> str:
        raise RuntimeError("str() of this exception fails")

    def __repr__(self) -> str:
        raise RuntimeError("repr() of this exception fails")


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def _cyclic() -> BaseException:
    first, second = ValueError("kit cyclic first"), RuntimeError("kit cyclic second")
    first.__cause__, second.__cause__ = second, first
    first.__context__, second.__context__ = second, first
    return _raised(first)


def exotic_errors() -> dict[str, BaseException]:
    """ERR-002: what ``report`` must survive."""
    return {
        "plain": ValueError("kit plain"),
        "with traceback": _raised(ValueError("kit raised")),
        "empty message": Exception(),
        "only newlines": Exception("\n\n\n"),
        "odd args": Exception(object(), None, b"\xff\xfe", {"k": [1]}),
        "control and non-ASCII": ValueError("ünïcödé \x00\x1b[31m red \x1b[0m \r\t ✓"),
        "lone surrogate": ValueError("bad \udcff text"),
        "str() raises": StrRaises("kit"),
        "PlaitError without __init__": MissingInputFileError.__new__(MissingInputFileError),
        "cyclic causes": _cyclic(),
        "keyboard interrupt": KeyboardInterrupt(),
        "system exit": SystemExit(3),
        "huge message": ValueError("x" * HUGE),
        "huge PlaitError": ConfigError("m" * HUGE, hint="h" * HUGE, blob="b" * HUGE),
        "many lines": RuntimeError("\n".join(f"line {i}" for i in range(100_000))),
    }


def exotic_contexts() -> list[ErrorContext]:
    """ERR-002: unusual contexts."""
    return [
        ErrorContext(task_id=0, task_name="", executor="", attempts=0),
        ErrorContext(task_id=-1, task_name="\n\x00ünï", executor="e" * 10_000, attempts=10**9),
    ]


def _kit_remote_frame() -> None:
    raise KeyError("kit remote failure")


def _kit_failing_inner() -> None:
    try:
        _kit_remote_frame()
    except KeyError as remote:
        raise RuntimeError("kit failure with a cause") from remote


def _kit_failing_outer() -> BaseException:
    try:
        _kit_failing_inner()
    except RuntimeError as error:
        return error
    raise AssertionError("unreachable")


class ErrorReporterConformance(ConformanceBase):
    """The error-reporter kit. Set ``component_class``; a reporter that does not write
    to stdout or stderr overrides ``read_output`` (and usually ``component_kwargs``, for
    example to give it a path under ``tmp_path``)."""

    kind: ClassVar[str] = "error_reporter"
    spec_version: ClassVar[str] = "0.1"
    timeout: ClassVar[float] = TIMEOUT

    @pytest.fixture
    def read_output(self, capfd: pytest.CaptureFixture[str]) -> ReadOutput:
        """``read_output()``: everything the reporter rendered so far during the test
        (default: what was written to stdout and stderr, captured with ``capfd``)."""
        seen: list[str] = []

        def read() -> str:
            out, err = capfd.readouterr()
            seen.append(out + err)
            return "".join(seen)

        return read

    @pytest.fixture
    def reporter(self, component_kwargs: dict[str, Any]) -> Iterator[ErrorReporter]:
        """An instance of the reporter under test, closed after the test."""
        instance = self.make(component_kwargs)
        assert isinstance(instance, ErrorReporter)
        yield instance
        with contextlib.suppress(Exception):  # closing twice is ERR-005's business
            instance.close()

    def report(self, reporter: ErrorReporter, error: BaseException, context: ErrorContext) -> None:
        """Call ``reporter.report``; fail when it raises or hangs."""
        finished, outcome = call_with_timeout(lambda: reporter.report(error, context), self.timeout)
        assert finished, f"report() hung for {self.timeout} s"
        if isinstance(outcome, BaseException):
            raise AssertionError(
                f"report() raised {type(outcome).__name__}: {outcome!r}"
            ) from outcome

    # --- core tier ---------------------------------------------------------------

    @requirement("ERR-001")
    def test_declares_capabilities_and_maturity(self, component_kwargs: dict[str, Any]) -> None:
        cls = self.component_class
        assert_declarations(cls, ErrorReporter, ERROR_REPORTER_CAPABILITIES, "error-reporter")
        threads, pids = set(threading.enumerate()), child_pids()
        reporter = self.make(component_kwargs)
        try:
            assert not set(threading.enumerate()) - threads, "construction started threads"
            assert not child_pids() - pids, "construction started processes"
        finally:
            reporter.close()

    @requirement("ERR-002")
    def test_report_never_raises(self, reporter: ErrorReporter, read_output: ReadOutput) -> None:
        problems = []
        for name, error in exotic_errors().items():
            for context in [CONTEXT, *exotic_contexts()]:
                call = functools.partial(reporter.report, error, context)
                finished, outcome = call_with_timeout(call, self.timeout)
                if not finished:
                    problems.append(f"{name}: report() hung for {self.timeout} s")
                    break
                if isinstance(outcome, BaseException):
                    problems.append(f"{name}: report() raised {type(outcome).__name__}")
                    break
            read_output()  # drain the capture between errors
        assert not problems, "report() failed for:\n" + "\n".join(problems)

    @requirement("ERR-003")
    def test_renders_context_type_and_message(
        self, reporter: ErrorReporter, read_output: ReadOutput
    ) -> None:
        self.report(reporter, ValueError("kit message first line\nkit second line"), CONTEXT)
        reporter.close()
        output = read_output()
        expected = {
            "task id": "4242",
            "task name": "kit_app_name",
            "executor label": "kit-executor",
            "exception type": "ValueError",
            "message": "kit message first line",
        }
        missing = [f"{what} ({text!r})" for what, text in expected.items() if text not in output]
        assert not missing, f"the rendering lacks {', '.join(missing)}:\n{output[:2000]}"

    @requirement("ERR-004")
    def test_renders_code_hint_and_docs_link(
        self, reporter: ErrorReporter, read_output: ReadOutput
    ) -> None:
        default_hint = MissingInputFileError("kit input kit-file-1.dat is gone", path="x")
        own_hint = ConfigError("kit message of the second error", hint="kit own hint text")
        self.report(reporter, default_hint, CONTEXT)
        self.report(reporter, own_hint, CONTEXT)
        reporter.close()
        output = read_output()
        expected = [
            default_hint.code,
            default_hint.message,
            default_hint.hint,
            default_hint.docs_url,
            own_hint.code,
            own_hint.message,
            own_hint.hint,
            own_hint.docs_url,
        ]
        missing = [text for text in expected if text not in output]
        assert not missing, f"the rendering lacks {missing}:\n{output[:2000]}"

    @requirement("ERR-005")
    def test_close_is_idempotent(
        self, component_kwargs: dict[str, Any], read_output: ReadOutput
    ) -> None:
        unused = self.make(component_kwargs)
        for _ in range(2):
            finished, outcome = call_with_timeout(unused.close, self.timeout)
            assert finished and not isinstance(outcome, BaseException), (
                f"close() of an unused reporter: {outcome!r}"
            )
        reporter = self.make(component_kwargs)
        self.report(reporter, ValueError("kit before close"), CONTEXT)
        for _ in range(2):
            finished, outcome = call_with_timeout(reporter.close, self.timeout)
            assert finished, f"close() hung for {self.timeout} s"
            assert not isinstance(outcome, BaseException), f"close() raised {outcome!r}"
        assert "kit before close" in read_output(), "a report made before close() was lost"
        self.report(reporter, ValueError("kit after close"), CONTEXT)
        finished, outcome = call_with_timeout(reporter.close, self.timeout)
        assert finished and not isinstance(outcome, BaseException), (
            f"close() after a late report: {outcome!r}"
        )

    @requirement("ERR-006")
    def test_reports_from_many_threads(
        self, reporter: ErrorReporter, read_output: ReadOutput
    ) -> None:
        barrier = threading.Barrier(THREADS)

        def work(thread: int) -> None:
            barrier.wait(timeout=self.timeout)
            for i in range(REPORTS_PER_THREAD):
                context = ErrorContext(thread * 1000 + i, f"kit_app_{thread}", "kit-executor", 1)
                reporter.report(ValueError(f"kit-marker-{thread}-{i}-end"), context)

        with ThreadPoolExecutor(THREADS, thread_name_prefix="plait-kit-err") as pool:
            list(pool.map(work, range(THREADS)))
        reporter.close()
        output = read_output()
        counts = {
            f"kit-marker-{t}-{i}-end": output.count(f"kit-marker-{t}-{i}-end")
            for t in range(THREADS)
            for i in range(REPORTS_PER_THREAD)
        }
        lost = [marker for marker, count in counts.items() if count == 0]
        assert not lost, (
            f"{len(lost)} of {len(counts)} concurrent reports were lost or mixed up, "
            f"first: {lost[:3]}"
        )
        repeated = [marker for marker, count in counts.items() if count > min(counts.values())]
        assert not repeated, f"{len(repeated)} concurrent reports were repeated: {repeated[:3]}"

    @requirement("ERR-007")
    def test_report_is_visible_when_it_returns(
        self, reporter: ErrorReporter, read_output: ReadOutput
    ) -> None:
        self.report(reporter, ValueError("kit visible before close"), CONTEXT)
        assert "kit visible before close" in read_output(), (
            "the report was not written out when report() returned"
        )

    @requirement("ERR-008")
    def test_rendering_is_bounded(self, reporter: ErrorReporter, read_output: ReadOutput) -> None:
        read_output()
        self.report(reporter, ValueError("kit-huge " + "x" * HUGE), CONTEXT)
        self.report(reporter, ConfigError("kit-huge " + "m" * HUGE, hint="h" * HUGE), CONTEXT)
        reporter.close()
        size = len(read_output())
        assert size <= 2 * BOUND, (
            f"two reports of {HUGE} character messages rendered {size} characters "
            f"(at most {BOUND} per report)"
        )

    # --- extended tier -------------------------------------------------------------

    @requirement("ERR-101", capability="traceback")
    def test_renders_the_traceback_with_causes(
        self, reporter: ErrorReporter, read_output: ReadOutput
    ) -> None:
        self.report(reporter, _kit_failing_outer(), CONTEXT)
        reporter.close()
        output = read_output()
        for frame in ("_kit_failing_inner", "_kit_remote_frame"):
            assert frame in output, f"the traceback frame {frame} is not rendered"
