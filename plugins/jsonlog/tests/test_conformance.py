"""plait-jsonlog against the error-reporter conformance kit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plait_jsonlog import JsonLogErrorReporter
from plait_jsonlog.conformance import JsonLogConformance


class TestJsonLogErrorReporter(JsonLogConformance):
    """The kit as ``plait conformance jsonlog`` runs it: the default path, ``errors.jsonl``
    in the test's directory."""

    component_class = JsonLogErrorReporter


class TestJsonLogErrorReporterWithOptions(JsonLogConformance):
    """The kit with both options given: a path in a directory that does not exist yet,
    and a short traceback."""

    component_class = JsonLogErrorReporter

    @pytest.fixture
    def component_kwargs(self, tmp_path: Path) -> dict[str, Any]:
        return {"path": str(tmp_path / "logs" / "errors.jsonl"), "max_traceback_chars": 2000}
