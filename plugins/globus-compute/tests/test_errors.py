"""Every way a task can fail, each as plait's coded error, through the SDK's Executor,
the stand-in service and the endpoint package's ThreadPoolEngine."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import gc_tasks
import pytest

from plait.conformance import tasks
from plait.conformance.base import wait_until
from plait.errors import (
    RemoteTaskError,
    ResourceSpecificationError,
    SerializationError,
)
from plait.interfaces import TaskDescription
from plait_globus_compute import (
    EndpointOfflineError,
    EndpointVersionMismatchError,
    GlobusComputeExecutor,
    PayloadTooLargeError,
    versions,
)
from plait_globus_compute import testing as harness
from plait_globus_compute.outcomes import RemoteTraceback

TIMEOUT = 60.0
Start = Callable[..., GlobusComputeExecutor]


@pytest.fixture
def start(options: dict[str, Any], tmp_path: Path) -> Iterator[Start]:
    """Make and start executors (options override the defaults); shut them down after."""
    made: list[GlobusComputeExecutor] = []

    def make(**extra: Any) -> GlobusComputeExecutor:
        executor = GlobusComputeExecutor(**{**options, **extra})
        executor.start(tmp_path)
        made.append(executor)
        return executor

    yield make
    for executor in made:
        executor.shutdown(wait=False)


def _task(i: int = 0) -> TaskDescription:
    return TaskDescription(i, "t")


def submitted(service: harness.FakeComputeService) -> int:
    return sum(s["tasks"] for s in service.submissions)


# --- the endpoint ----------------------------------------------------------------------------


def test_start_fails_when_the_endpoint_is_offline(
    service: harness.FakeComputeService, online: str, start: Start
) -> None:
    service.set_status(online, "offline")
    with pytest.raises(EndpointOfflineError) as info:
        start()
    assert info.value.code == "PLT-220"
    assert f"endpoint {online} of executor 'globus-compute' is offline" in info.value.message
    assert "globus-compute-endpoint start" in info.value.hint


def test_start_fails_for_an_endpoint_the_service_does_not_know(start: Start) -> None:
    with pytest.raises(EndpointOfflineError, match="HTTP 404 ENDPOINT_NOT_FOUND"):
        start(endpoint_id=str(uuid.uuid4()))


def test_tasks_wait_at_the_service_while_the_endpoint_is_offline(
    service: harness.FakeComputeService, online: str, start: Start
) -> None:
    service.set_status(online, "offline")
    executor = start(require_online=False)
    future = executor.submit(_task(), gc_tasks.square, (3,), {})
    assert wait_until(lambda: service.held(online) == 1, TIMEOUT)
    assert not future.done()
    service.set_status(online, "online")
    assert future.result(TIMEOUT) == 9


def test_tasks_for_an_unknown_endpoint_fail_with_the_services_answer(start: Start) -> None:
    executor = start(endpoint_id=str(uuid.uuid4()), require_online=False)
    error = executor.submit(_task(), gc_tasks.square, (3,), {}).exception(TIMEOUT)
    assert isinstance(error, EndpointOfflineError), error
    assert "HTTP 404 ENDPOINT_NOT_FOUND" in error.message
    assert error.details["task"] == 0


# --- size limits -------------------------------------------------------------------------------


def test_a_task_over_max_payload_bytes_fails_at_submit_and_alone(
    service: harness.FakeComputeService, start: Start
) -> None:
    executor = start(max_payload_bytes=100_000)
    before = submitted(service)
    with pytest.raises(PayloadTooLargeError) as info:
        executor.submit(_task(), gc_tasks.echo, (b"x" * 200_000,), {})
    assert info.value.code == "PLT-221"
    assert info.value.details["limit"] == 100_000 and info.value.details["size"] > 200_000
    assert "max_payload_bytes=100000" in info.value.message
    assert executor.submit(_task(1), gc_tasks.square, (4,), {}).result(TIMEOUT) == 16
    assert submitted(service) == before + 1


def test_a_request_the_service_refuses_as_too_large_fails_its_tasks_and_not_later_ones(
    service: harness.FakeComputeService, start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """The service's 413 stops the SDK's executor for good: the task held behind the
    refused one, and the next one submitted, go through new SDK executors."""
    service.payload_limit = 50_000
    executor = start(max_in_flight=1)
    with caplog.at_level(logging.WARNING, logger="plait_globus_compute"):
        refused = executor.submit(_task(), gc_tasks.echo, (b"x" * 100_000,), {})
        held = executor.submit(_task(1), gc_tasks.square, (4,), {})
        error = refused.exception(TIMEOUT)
        assert isinstance(error, PayloadTooLargeError), error
        assert "HTTP 413 TASK_PAYLOAD_TOO_LARGE" in error.message
        assert held.result(TIMEOUT) == 16
        assert executor.submit(_task(2), gc_tasks.square, (5,), {}).result(TIMEOUT) == 25
    assert "the SDK's executor had stopped; starting another" in caplog.text
    assert "task 1 (t, attempt 1) was dropped unsent by a stopped SDK executor" in caplog.text


def test_a_result_over_the_endpoints_limit_is_reported_with_its_size(start: Start) -> None:
    executor = start()
    size = 11 * 1024 * 1024
    error = executor.submit(_task(), gc_tasks.big_result, (size,), {}).exception(TIMEOUT)
    assert isinstance(error, PayloadTooLargeError), error
    assert "over the endpoint's limit of 10485760 bytes" in error.message
    assert error.details["size"] > size


def test_an_argument_that_cannot_be_serialized_is_named_at_submit(start: Start) -> None:
    executor = start()
    with pytest.raises(SerializationError, match="argument 2 of task 0") as info:
        executor.submit(_task(), gc_tasks.echo, (1, gc_tasks.numbers()), {})
    assert "Globus Compute's serializer" in info.value.message


# --- versions ------------------------------------------------------------------------------------


def test_a_worker_with_another_python_refuses_the_task(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The submitting side claims Python 2.7: the real worker compares and refuses."""
    claimed = {**versions.here(), "python": "2.7"}
    monkeypatch.setattr(versions, "here", lambda: claimed)
    executor = start()
    error = executor.submit(_task(), gc_tasks.square, (2,), {}).exception(TIMEOUT)
    assert isinstance(error, EndpointVersionMismatchError), error
    assert error.code == "PLT-222"
    here = ".".join(map(str, sys.version_info[:2]))
    assert f"python 2.7 here, {here} on the endpoint" in error.message


def test_a_module_missing_on_the_endpoint_is_a_version_mismatch(
    start: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code the endpoint cannot import: the endpoint's deserialization fails."""
    name = f"only_here_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text("def triple(x):\n    return 3 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__(name)
    executor = start()
    error = executor.submit(_task(), module.triple, (2,), {}).exception(TIMEOUT)
    assert isinstance(error, EndpointVersionMismatchError), error
    assert f"No module named '{name}'" in error.message
    assert "plait-globus-compute" in error.message  # the submitting side's versions


# --- exceptions the app raises ----------------------------------------------------------------


def test_the_apps_exception_comes_back_as_itself_with_the_remote_traceback(
    start: Start, online: str
) -> None:
    executor = start()
    error = executor.submit(_task(), gc_tasks.fail, ("lost key",), {}).exception(TIMEOUT)
    assert type(error) is KeyError and error.args == ("lost key",)
    cause = error.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert f"Globus Compute endpoint {online}" in str(cause)
    assert "in fail\n    raise KeyError(message)" in str(cause)


def test_an_exception_that_cannot_travel_becomes_a_remote_task_error(start: Start) -> None:
    executor = start()
    error = executor.submit(_task(), gc_tasks.fail_unpicklably, ("held",), {}).exception(TIMEOUT)
    assert isinstance(error, RemoteTaskError), error
    assert error.code == "PLT-216"
    assert error.message == "gc_tasks.Unpicklable: held"
    assert "in fail_unpicklably" in str(error.__cause__)


def test_an_mpi_setting_the_endpoints_engine_refuses_is_a_resource_error(
    service: harness.FakeComputeService, start: Start
) -> None:
    """mpi = true sends every task with an MPI layout; a ThreadPoolEngine refuses it."""
    executor = start(mpi=True)
    error = executor.submit(_task(), gc_tasks.square, (2,), {}).exception(TIMEOUT)
    assert isinstance(error, ResourceSpecificationError), error
    assert "not supported on ThreadPoolEngine" in error.message
    assert service.submissions[-1]["resource_specification"] == {
        "num_nodes": 1,
        "ranks_per_node": 1,
        "num_ranks": 1,
    }


# --- cancellation --------------------------------------------------------------------------------


def test_cancel_stops_a_held_task_but_not_one_sent(
    service: harness.FakeComputeService, start: Start, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    executor = start(max_in_flight=1)
    before = submitted(service)
    sent = executor.submit(_task(), tasks.wait_for_file, (str(gate), "sent"), {})
    held = executor.submit(_task(1), gc_tasks.square, (3,), {})
    assert executor.cancel(held) is True
    assert executor.cancel(sent) is False
    gate.touch()
    assert sent.result(TIMEOUT) == "sent"
    with pytest.raises(CancelledError):
        held.result(TIMEOUT)
    assert submitted(service) == before + 1, "the cancelled task reached the service"


def test_held_tasks_go_out_as_earlier_ones_finish(start: Start) -> None:
    executor = start(max_in_flight=2)
    futures = [executor.submit(_task(i), gc_tasks.square, (i,), {}) for i in range(20)]
    assert [f.result(TIMEOUT) for f in futures] == [i * i for i in range(20)]
