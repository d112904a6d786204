"""Failures the stand-in service does not produce, mapped directly: the service's other
HTTP errors, network errors, results this side cannot load, and endpoint failures with
other causes (unit tests of :mod:`plait_globus_compute.outcomes`)."""

from __future__ import annotations

import json

import globus_sdk
import pytest
import requests
from globus_compute_sdk.errors import TaskExecutionFailed

from plait.errors import ExecutorFailureError
from plait.interfaces import TaskDescription
from plait_globus_compute import EndpointOfflineError, EndpointVersionMismatchError, versions
from plait_globus_compute.outcomes import TaskContext, error_of, value_of

CONTEXT = TaskContext(TaskDescription(4, "app", 1), "gc", "ep-id", versions.here())


def api_error(status: int, code: str) -> globus_sdk.GlobusAPIError:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps({"code": code, "message": "said the service"}).encode()
    response.headers["Content-Type"] = "application/json"
    response.url = "https://compute.api.globus.org/v3/endpoints/ep-id/submit"
    response.request = requests.Request("POST", response.url).prepare()
    return globus_sdk.GlobusAPIError(response)


def test_a_locked_endpoint_is_an_offline_endpoint() -> None:
    error = error_of(api_error(423, "ENDPOINT_LOCKED"), CONTEXT)
    assert isinstance(error, EndpointOfflineError)
    assert "HTTP 423 ENDPOINT_LOCKED: said the service" in error.message
    assert error.details == {"executor": "gc", "endpoint": "ep-id", "task": 4, "attempt": 1}


def test_other_service_errors_and_network_errors_are_executor_failures() -> None:
    server = error_of(api_error(500, "INTERNAL"), CONTEXT)
    assert type(server) is ExecutorFailureError and "HTTP 500 INTERNAL" in server.message
    network = error_of(requests.ConnectionError("no route to host"), CONTEXT)
    assert type(network) is ExecutorFailureError
    assert "ConnectionError: no route to host" in network.message
    assert isinstance(network.__cause__, requests.ConnectionError)


def test_a_result_this_side_cannot_load_is_a_version_mismatch() -> None:
    failure = Exception("Malformed or unexpected data structure. Data: 00\nxyz")
    failure.__cause__ = ModuleNotFoundError("No module named 'numpy'")
    error = error_of(failure, CONTEXT)
    assert isinstance(error, EndpointVersionMismatchError)
    assert "could not be loaded here (ModuleNotFoundError: No module named 'numpy')" in (
        error.message
    )


def test_an_endpoint_failure_of_another_kind_quotes_its_last_line() -> None:
    text = "+" * 68 + "\nTraceback (most recent call last):\nOSError: disk full\n" + "-" * 68
    error = error_of(TaskExecutionFailed(text), CONTEXT)
    assert type(error) is ExecutorFailureError
    assert error.message.endswith("outside the app: OSError: disk full")


@pytest.mark.parametrize("outcome", [42, ("surprise",), ()])
def test_an_outcome_not_from_the_runner_is_an_executor_failure(outcome: object) -> None:
    with pytest.raises(ExecutorFailureError, match=r"plait_globus_compute\.remote\.run"):
        value_of(outcome, CONTEXT)
