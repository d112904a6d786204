"""The error-reporter kit reading the ``jsonlog`` file: the variant ``plait conformance
jsonlog`` runs (``JsonLogErrorReporter.conformance_kit``). Needs pytest
(``pip install "plait[conformance]"``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plait.conformance.error_reporter import ErrorReporterConformance, ReadOutput
from plait_jsonlog.reporter import DEFAULT_PATH, JsonLogErrorReporter, resolve_path


class JsonLogConformance(ErrorReporterConformance):
    """:class:`~plait.conformance.error_reporter.ErrorReporterConformance` with
    ``read_output`` reading what the reporter appended to its file during the test.

    Each test runs in its ``tmp_path``, so without a ``path`` option the reporter writes
    ``errors.jsonl`` there; a ``path`` that already has lines is read from its end."""

    component_class = JsonLogErrorReporter

    @pytest.fixture(autouse=True)
    def _jsonlog_in_tmp_path(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)

    @pytest.fixture
    def read_output(
        self, _jsonlog_in_tmp_path: None, component_kwargs: dict[str, Any]
    ) -> ReadOutput:
        path = Path(resolve_path(component_kwargs.get("path", DEFAULT_PATH)))
        start = path.stat().st_size if path.exists() else 0

        def read() -> str:
            try:
                with path.open("rb") as file:
                    file.seek(start)
                    return file.read().decode("utf-8", "replace")
            except FileNotFoundError:
                return ""

        return read
