"""plait-htex against the executor conformance kit, plain and encrypted."""

from __future__ import annotations

from typing import Any

import pytest

from plait.conformance.executor import ExecutorConformance
from plait_htex import HighThroughputExecutor


class TestHighThroughputExecutor(ExecutorConformance):
    component_class = HighThroughputExecutor

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"label": "kit", "max_workers_per_node": 4}


class TestEncryptedHighThroughputExecutor(ExecutorConformance):
    """The same kit with CurveZMQ on every socket."""

    component_class = HighThroughputExecutor

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"label": "kit-curve", "max_workers_per_node": 2, "encrypted": True}
