"""plait-example-thirdparty against the plait conformance kit.

Run ``pytest tests --plait-conformance-report report.json`` for a JSON report.
"""

from __future__ import annotations

from typing import Any

import pytest
from plait_example_thirdparty import JsonSerializer, ProcessExecutor

from plait.conformance.executor import ExecutorConformance
from plait.conformance.serializer import SerializerConformance


class TestProcessExecutor(ExecutorConformance):
    component_class = ProcessExecutor

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"label": "kit", "max_workers": 4}  # the cancel test needs fewer than 32


class TestJsonSerializer(SerializerConformance):
    component_class = JsonSerializer
