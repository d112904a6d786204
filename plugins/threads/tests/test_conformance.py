"""plait-threads against the executor conformance kit."""

from __future__ import annotations

from typing import Any

import pytest

from plait.conformance.executor import ExecutorConformance
from plait_threads import ThreadPoolExecutor


class TestThreadPoolExecutor(ExecutorConformance):
    component_class = ThreadPoolExecutor

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"label": "kit", "max_threads": 4}
