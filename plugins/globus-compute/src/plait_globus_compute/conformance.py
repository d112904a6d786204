"""The executor conformance kit on the offline stand-in service
(:mod:`plait_globus_compute.testing`), with the endpoint package's ThreadPoolEngine
running the tasks: what ``plait conformance globus-compute`` and ``plait maturity check
--run-kit`` run (``GlobusComputeExecutor.conformance_kit``). Needs the ``test`` extra."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plait.conformance.executor import ExecutorConformance
from plait.interfaces import Executor
from plait_globus_compute.executor import GlobusComputeExecutor

FAST = {"api_burst_limit": 8, "api_burst_window_s": 1}
"""SDK rate-limit settings for tests: many small batches must not wait seconds."""


class GlobusComputeConformance(ExecutorConformance):
    """The kit with an endpoint of 8 threads behind the stand-in service; 16 tasks out
    at a time, so that the cancel test finds tasks still held here."""

    component_class = GlobusComputeExecutor

    @pytest.fixture(scope="class")
    def stand_in_endpoint(
        self, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[tuple[Any, str]]:
        from globus_compute_sdk.sdk import executor as sdk_executor

        from plait_globus_compute import testing

        service = testing.FakeComputeService()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sdk_executor, "_ResultWatcher", testing.LocalResultWatcher)
            patch.setattr(testing.LocalResultWatcher, "service", service)
            with service:
                endpoint = testing.EndpointProcess(
                    "ThreadPoolEngine",
                    tmp_path_factory.mktemp("endpoint"),
                    service.result,
                    {"max_workers": 8},
                )
                try:
                    yield service, service.add(endpoint)
                finally:
                    endpoint.stop()

    @pytest.fixture(autouse=True)
    def _stand_in_options(self, stand_in_endpoint: tuple[Any, str]) -> None:
        service, endpoint_id = stand_in_endpoint
        service.set_status(endpoint_id, "online")
        self.stand_in = {
            "label": "kit",
            "max_in_flight": 16,
            "workers": 8,
            "endpoint_id": endpoint_id,
            "client": service.client(),
            **FAST,
        }

    def make(self, component_kwargs: dict[str, Any]) -> Any:
        """The executor on the stand-in endpoint (``component_kwargs``, e.g. from
        ``plait conformance --option``, override its options)."""
        return self.component_class(**{**self.stand_in, **component_kwargs})

    @pytest.mark.xfail(
        strict=True,
        reason="the kit's 20 MiB argument exceeds Globus Compute's 10 MB limit on a task's "
        "data: submit refuses it with PLT-221",
    )
    def test_large_arguments_and_results(self, executor: Executor) -> None:
        super().test_large_arguments_and_results(executor)
