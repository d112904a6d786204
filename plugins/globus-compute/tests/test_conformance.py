"""plait-globus-compute against the executor conformance kit, on the stand-in service
with the endpoint package's ThreadPoolEngine running the tasks."""

from __future__ import annotations

from typing import Any

import pytest

from plait.conformance.executor import ExecutorConformance
from plait.interfaces import Executor
from plait_globus_compute import GlobusComputeExecutor


class TestGlobusComputeExecutor(ExecutorConformance):
    component_class = GlobusComputeExecutor

    @pytest.fixture
    def component_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        # 16 tasks out at a time: the kit's cancel test finds tasks still held here
        return {"label": "kit", "max_in_flight": 16, **options}

    @pytest.mark.xfail(
        strict=True,
        reason="the kit's 20 MiB argument exceeds Globus Compute's 10 MB limit on a task's "
        "data: submit refuses it with PLT-221 (test_errors.py checks that refusal and the "
        "endpoint's refusal of a result over its limit)",
    )
    def test_large_arguments_and_results(self, executor: Executor) -> None:
        super().test_large_arguments_and_results(executor)
