"""How a Globus Compute task's outcome becomes the value or the plait error of its future.

A task's future from the SDK ends in one of three ways: with the outcome tuple of
:mod:`plait_globus_compute.remote` (the app ran, or the worker refused it for a version
mismatch); with ``TaskExecutionFailed``, whose text is the endpoint's traceback of a
failure outside the app (the task could not be loaded, its result was too large, the
worker died, the engine refused it); or with the error of the service call that
should have carried it (``GlobusAPIError``, a network error). Each becomes the app's
own exception (with the remote traceback as its cause) or a coded plait error.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from plait.apps.applog import attach_logs
from plait.errors import (
    ExecutorFailureError,
    PlaitError,
    RemoteTaskError,
    ResourceSpecificationError,
    WorkerLostError,
)
from plait.interfaces import TaskDescription
from plait.serialization import SerializerChain
from plait_globus_compute import versions
from plait_globus_compute.errors import (
    EndpointOfflineError,
    EndpointVersionMismatchError,
    PayloadTooLargeError,
)
from plait_globus_compute.remote import ENCODED, MISMATCH, OK, RAISED, Failure

RESULT_TOO_LARGE = re.compile(r"MaxResultSizeExceeded\((\d+), (\d+)\)")
WORKER_LOST = re.compile(r"\bWorkerLost\b")
REFUSED_RESOURCES = re.compile(
    r"resource_specification is not supported|InvalidResourceSpecification|MPI mode requires"
)
NOT_LOADED = re.compile(
    r"unpack_and_deserialize|DeserializationError|ModuleNotFoundError|No module named"
)
TOO_LARGE_CODES = frozenset({"TASK_PAYLOAD_TOO_LARGE", "PAYLOAD_TOO_LARGE", "REQUEST_TOO_LARGE"})
ENDPOINT_STATUSES = frozenset({403, 404, 409, 423})


@attrs.frozen
class TaskContext:
    """What turning one task's outcome into plait's terms needs to know."""

    task: TaskDescription
    label: str
    endpoint_id: str
    submit_side: dict[str, str]
    chain: SerializerChain | None = None

    @property
    def details(self) -> dict[str, Any]:
        """The ``details`` of the errors raised for this task."""
        return {
            "executor": self.label,
            "endpoint": self.endpoint_id,
            "task": self.task.task_id,
            "attempt": self.task.attempt,
        }

    @property
    def what(self) -> str:
        """``task 3 (name, attempt 1)``."""
        return f"task {self.task.task_id} ({self.task.name}, attempt {self.task.attempt + 1})"


class RemoteTraceback(Exception):
    """The ``__cause__`` of a task's exception: its traceback on the endpoint's worker, as
    text, headed by where it ran."""

    def __init__(self, failure: Failure, context: TaskContext) -> None:
        head = (
            f"\n\nTraceback on {failure.host} (pid {failure.pid}) of Globus Compute endpoint "
            f"{context.endpoint_id}, executor {context.label!r}, attempt "
            f"{context.task.attempt + 1}:\n"
        )
        super().__init__(head + failure.traceback)
        self.text = head + failure.traceback
        self.host = failure.host
        self.type_name = failure.type_name

    def __reduce__(self) -> tuple[Any, ...]:
        return (Exception.__new__, (type(self),), vars(self))

    def __str__(self) -> str:
        return self.text


def value_of(outcome: Any, context: TaskContext) -> Any:
    """The task's value, from the outcome tuple the endpoint sent back; raise what the
    task raised, or the error the outcome stands for."""
    tag = outcome[0] if isinstance(outcome, tuple) and outcome else None
    if tag == OK:
        return outcome[1]
    if tag == ENCODED and context.chain is not None:
        return context.chain.loads(outcome[1])
    if tag == RAISED:
        raise _raised(outcome[1], context)
    if tag == MISMATCH:
        endpoint, where = outcome[1], outcome[2]
        raise EndpointVersionMismatchError(
            f"the worker on {where} did not run {context.what}: "
            + "; ".join(versions.differences(context.submit_side, endpoint)),
            **context.details,
        )
    raise ExecutorFailureError(
        f"{context.what} came back as {type(outcome).__name__}, not as a plait outcome: "
        "the endpoint ran something other than plait_globus_compute.remote.run",
        hint="give function_id only the id of plait_globus_compute.remote.run",
        **context.details,
    )


def _raised(failure: Failure, context: TaskContext) -> BaseException:
    exc = failure.exc
    if exc is None:
        exc = RemoteTaskError(
            f"{failure.type_name}: {failure.message}", host=failure.host, **context.details
        )
    exc.__cause__ = RemoteTraceback(failure, context)
    if failure.logs is not None:
        attach_logs(exc, failure.logs)
    return exc


def error_of(exc: BaseException, context: TaskContext) -> BaseException:
    """The plait error for a task whose SDK future failed with ``exc``."""
    from globus_compute_sdk.errors import TaskExecutionFailed

    if isinstance(exc, TaskExecutionFailed):
        error = _endpoint_error(exc.remote_data, context)
    else:
        error = _service_error(exc, context)
    error.__cause__ = exc
    return error


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().strip("+-").splitlines() if line.strip()]
    return lines[-1] if lines else text.strip()


def _endpoint_error(text: str, context: TaskContext) -> PlaitError:
    """A failure the endpoint reported outside the app, from its traceback text."""
    where = f"{context.what} on endpoint {context.endpoint_id}"
    found = RESULT_TOO_LARGE.search(text)
    if found:
        size, limit = int(found[1]), int(found[2])
        return PayloadTooLargeError(
            f"the result of {where} is {size} bytes serialized, over the endpoint's "
            f"limit of {limit} bytes; the result is lost",
            size=size,
            limit=limit,
            **context.details,
        )
    if WORKER_LOST.search(text):
        return WorkerLostError(
            f"the worker process running {where} died: {_last_line(text)}",
            hint="the task ended its process (os._exit, a crash in compiled code, memory "
            "beyond the node's limit); a Python version on the endpoint other than the "
            f"submitting side's ({context.submit_side.get('python')}) has the same effect",
            **context.details,
        )
    if REFUSED_RESOURCES.search(text):
        return ResourceSpecificationError(
            f"the endpoint's engine refused the resource specification of {where}: "
            f"{_last_line(text)}",
            hint="set mpi = true exactly when the endpoint's engine is GlobusMPIEngine: it "
            "needs an MPI layout on every task, the other engines take none",
            **context.details,
        )
    if NOT_LOADED.search(text):
        return EndpointVersionMismatchError(
            f"the endpoint could not load {where}: {_last_line(text)} (submitting side: "
            f"{versions.describe(context.submit_side)})",
            **context.details,
        )
    return ExecutorFailureError(
        f"the endpoint failed {where} outside the app: {_last_line(text)}",
        hint="read the endpoint's traceback below, and the endpoint's log",
        **context.details,
    )


def _service_error(exc: BaseException, context: TaskContext) -> PlaitError:
    """A failure of the call to the Globus Compute service, or of the SDK."""
    import globus_sdk

    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, globus_sdk.GlobusAPIError):
        status, code = exc.http_status, str(exc.code)
        said = f"HTTP {status} {code}: {exc.message}"
        if status == 413 or code in TOO_LARGE_CODES:
            return PayloadTooLargeError(
                f"the Globus Compute service refused the batch holding {context.what} as "
                f"too large ({said})",
                **context.details,
            )
        if status in ENDPOINT_STATUSES or "ENDPOINT" in code.upper():
            return EndpointOfflineError(
                f"the Globus Compute service refused {context.what} for endpoint "
                f"{context.endpoint_id} ({said})",
                **context.details,
            )
        what = said
    elif "Malformed or unexpected data structure" in str(exc):
        cause = exc.__cause__
        return EndpointVersionMismatchError(
            f"the result of {context.what} could not be loaded here "
            f"({type(cause).__name__}: {cause}); submitting side: "
            f"{versions.describe(context.submit_side)}",
            **context.details,
        )
    return ExecutorFailureError(
        f"Globus Compute could not carry {context.what}: {what}",
        hint="check the connection to the Globus Compute service and your login; the "
        "kernel retries the task when Config.retries allows",
        **context.details,
    )
