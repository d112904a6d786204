"""The error-reporter kit, tested: a compliant dummy reporter passes every requirement; for
each requirement a dummy that breaks exactly that requirement fails it and passes the
others. A reporter writing JSON lines to a file shows how ``read_output`` is overridden.

Each case runs the kit in-process with pytester and reads the verdicts from the kit's
JSON report.
"""

from __future__ import annotations

import pytest

from . import kitrun
from .kitrun import Broken

KIT_REQUIREMENTS = (
    "ERR-001",
    "ERR-002",
    "ERR-003",
    "ERR-004",
    "ERR-005",
    "ERR-006",
    "ERR-007",
    "ERR-008",
    "ERR-101",
)

DUMMIES = '''
"""Dummy error reporters for the kit's own tests: one compliant, the rest each broken in
one way."""

import json
import sys
import threading
import time
import traceback

from plait.errors import PlaitError
from plait.interfaces import ErrorReporter

LIMIT = 2000


def safe_str(value):
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}: str() failed>"


def clip(text, limit=LIMIT):
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more)"


class Compliant(ErrorReporter):
    """Writes a few lines per error to stderr: follows interface-specs/error-reporter.md."""

    capabilities = frozenset({"traceback"})
    maturity = "beta"

    def __init__(self):
        self._lock = threading.Lock()
        self._closed = False

    def describe(self, error):
        return safe_str(error).partition("\\n")[0]

    def render(self, error, context):
        lines = [
            f"task {context.task_id} ({clip(context.task_name, 100)}) on "
            f"{clip(context.executor, 100)}, attempt {context.attempts}: "
            f"{type(error).__name__}: {clip(self.describe(error))}"
        ]
        if isinstance(error, PlaitError):
            lines.append(f"  hint: {clip(safe_str(getattr(error, 'hint', '')))}")
            lines.append(f"  docs: {error.docs_url}")
        lines.append(self.render_traceback(error))
        text = "\\n".join(lines)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")

    def render_traceback(self, error):
        formatted = traceback.format_exception(type(error), error, error.__traceback__)
        return clip("".join(formatted), 20 * LIMIT)

    def safe_render(self, error, context):
        try:
            return self.render(error, context)
        except Exception:
            return f"task {context.task_id}: {type(error).__name__} (not renderable)"

    def write(self, text):
        sys.stderr.write(text + "\\n")
        sys.stderr.flush()

    def report(self, error, context):
        text = self.safe_render(error, context)
        with self._lock:
            if self._closed:
                return
            try:
                self.write(text)
            except Exception:
                pass

    def close(self):
        with self._lock:
            self._closed = True


class JsonLines(ErrorReporter):
    """One JSON object per error appended to ``path``."""

    maturity = "beta"

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()

    def report(self, error, context):
        try:
            record = {
                "task_id": context.task_id,
                "task_name": context.task_name[:200],
                "executor": context.executor[:200],
                "type": type(error).__name__,
                "message": clip(safe_str(error)),
            }
            if isinstance(error, PlaitError):
                record.update(
                    code=error.code,
                    hint=clip(safe_str(getattr(error, "hint", ""))),
                    docs=error.docs_url,
                )
            line = json.dumps(record) + "\\n"
            with self._lock, open(self.path, "a", encoding="utf-8") as out:
                out.write(line)
        except Exception:
            pass


# --- ERR-001 ---------------------------------------------------------------------------


class UnknownCapability(Compliant):
    capabilities = frozenset({"traceback", "colour"})


class ThreadInInit(Compliant):
    def __init__(self):
        super().__init__()
        threading.Thread(target=time.sleep, args=(0.5,), name="kit-dummy-flusher").start()


# --- ERR-002 ---------------------------------------------------------------------------


class UnguardedStr(Compliant):
    def describe(self, error):
        return str(error).partition("\\n")[0]

    def safe_render(self, error, context):
        return self.render(error, context)


# --- ERR-003 ---------------------------------------------------------------------------


class NoTaskName(Compliant):
    def render(self, error, context):
        text = super().render(error, context)
        return text.replace(context.task_name, "?") if context.task_name else text


# --- ERR-004 ---------------------------------------------------------------------------


class NoHint(Compliant):
    def render(self, error, context):
        lines = super().render(error, context).split("\\n")
        return "\\n".join(line for line in lines if not line.startswith("  hint:"))


# --- ERR-005 ---------------------------------------------------------------------------


class CloseTwiceRaises(Compliant):
    def close(self):
        if self._closed:
            raise RuntimeError("reporter already closed")
        super().close()


# --- ERR-006 ---------------------------------------------------------------------------


class Racy(Compliant):
    def report(self, error, context):
        self._text = self.safe_render(error, context)
        time.sleep(0.005)
        self.write(self._text)


# --- ERR-007 ---------------------------------------------------------------------------


class BuffersUntilClose(Compliant):
    def __init__(self):
        super().__init__()
        self._buffer = []

    def write(self, text):
        self._buffer.append(text)

    def close(self):
        with self._lock:
            for text in self._buffer:
                Compliant.write(self, text)
            self._buffer.clear()
            self._closed = True


# --- ERR-008 ---------------------------------------------------------------------------


class Unbounded(Compliant):
    def render(self, error, context):
        text = super().render(error, context)
        return text + "\\n" + safe_str(error)


# --- ERR-101 (traceback) ----------------------------------------------------------------


class NoTraceback(Compliant):
    def render_traceback(self, error):
        return ""
'''

KIT_MODULE = """
import pytest

from plait.conformance.error_reporter import ErrorReporterConformance
from dummies import {cls}


class TestDummy(ErrorReporterConformance):
    component_class = {cls}
"""

JSON_LINES_MODULE = """
import pytest

from plait.conformance.error_reporter import ErrorReporterConformance
from dummies import JsonLines


class TestJsonLines(ErrorReporterConformance):
    component_class = JsonLines

    @pytest.fixture
    def component_kwargs(self, tmp_path):
        return {"path": str(tmp_path / "errors.jsonl")}

    @pytest.fixture
    def read_output(self, tmp_path):
        path = tmp_path / "errors.jsonl"
        return lambda: path.read_text() if path.exists() else ""
"""


BROKEN = [
    Broken("UnknownCapability", "ERR-001", "test_declares_capabilities_and_maturity"),
    Broken("ThreadInInit", "ERR-001", "test_declares_capabilities_and_maturity"),
    Broken("UnguardedStr", "ERR-002", "test_report_never_raises"),
    Broken("NoTaskName", "ERR-003", "test_renders_context_type_and_message"),
    Broken("NoHint", "ERR-004", "test_renders_code_hint_and_docs_link"),
    Broken("CloseTwiceRaises", "ERR-005", "test_close_is_idempotent"),
    Broken("Racy", "ERR-006", "test_reports_from_many_threads"),
    Broken("BuffersUntilClose", "ERR-007", "test_report_is_visible_when_it_returns"),
    Broken("Unbounded", "ERR-008", "test_rendering_is_bounded"),
    Broken("NoTraceback", "ERR-101", "test_renders_the_traceback_with_causes"),
]


def run_dummy(pytester: pytest.Pytester, cls: str, module: str | None = None) -> kitrun.KitRun:
    """Run the error-reporter kit on dummy ``cls`` (with test module ``module``, or
    ``KIT_MODULE`` for ``cls``)."""
    if module is None:
        module = KIT_MODULE.format(cls=cls)
    return kitrun.run_kit(
        pytester, dummies=DUMMIES, module=module, component=cls, kind="error_reporter"
    )


def test_the_cases_cover_every_requirement_of_the_kit() -> None:
    from plait.conformance.error_reporter import ErrorReporterConformance

    kitrun.assert_cases_cover(ErrorReporterConformance, BROKEN, KIT_REQUIREMENTS)


def test_compliant_dummy_passes_every_requirement(pytester: pytest.Pytester) -> None:
    run = run_dummy(pytester, "Compliant")
    kitrun.assert_compliant(run, KIT_REQUIREMENTS, passed=9, extended=("ERR-101",))


def test_a_file_writing_reporter_overrides_read_output(pytester: pytest.Pytester) -> None:
    run = run_dummy(pytester, "JsonLines", JSON_LINES_MODULE)
    kitrun.assert_capability_skips(run, KIT_REQUIREMENTS, {"ERR-101": "traceback"})


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: f"{c.requirement}-{c.dummy}")
def test_broken_dummy_fails_exactly_its_requirement(
    pytester: pytest.Pytester, case: Broken
) -> None:
    kitrun.assert_only_broken(run_dummy(pytester, case.dummy), case, KIT_REQUIREMENTS)
