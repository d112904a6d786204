"""Fixtures: the stand-in Globus Compute service (``harness``) with an endpoint process
running the endpoint package's ThreadPoolEngine."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from plait_globus_compute import testing as harness

TEST_EXTRA = ("globus_compute_endpoint", "responses")
"""What ``pip install plait-globus-compute[test]`` adds; without it these tests are not
collected."""
if any(importlib.util.find_spec(name) is None for name in TEST_EXTRA):
    collect_ignore_glob = ["test_*.py"]

sys.path.insert(0, str(Path(__file__).parent))  # harness, gc_tasks (endpoints import these)

FAST = {"api_burst_limit": 8, "api_burst_window_s": 1}
"""SDK rate-limit settings for tests: many small batches must not wait seconds."""


@pytest.fixture(scope="session")
def service() -> Iterator[harness.FakeComputeService]:
    """The stand-in service, its result queues replacing the SDK's AMQP consumer."""
    from globus_compute_sdk.sdk import executor as sdk_executor

    from plait_globus_compute import testing as harness

    stand_in = harness.FakeComputeService()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sdk_executor, "_ResultWatcher", harness.LocalResultWatcher)
        patch.setattr(harness.LocalResultWatcher, "service", stand_in)
        with stand_in:
            yield stand_in


@pytest.fixture(scope="session")
def endpoint_id(
    service: harness.FakeComputeService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An endpoint process with the endpoint package's ThreadPoolEngine (8 workers)."""
    from plait_globus_compute import testing as harness

    endpoint = harness.EndpointProcess(
        "ThreadPoolEngine", tmp_path_factory.mktemp("endpoint"), service.result, {"max_workers": 8}
    )
    yield service.add(endpoint)
    service.remove(endpoint.endpoint_id)
    endpoint.stop()


@pytest.fixture
def online(service: harness.FakeComputeService, endpoint_id: str) -> Iterator[str]:
    """The thread pool endpoint's id, online during the test and after it."""
    limit = service.payload_limit
    service.set_status(endpoint_id, "online")
    yield endpoint_id
    service.set_status(endpoint_id, "online")
    service.payload_limit = limit


@pytest.fixture
def options(service: harness.FakeComputeService, online: str) -> dict[str, Any]:
    """Constructor options of an executor submitting to the thread pool endpoint."""
    return {"endpoint_id": online, "client": service.client(), **FAST}
