"""The errors this executor adds to plait's error model (meant to move into
:mod:`plait.errors`; until then they live here with their final codes)."""

from __future__ import annotations

from plait.errors import ExecutorFailureError, SerializationError


class EndpointOfflineError(ExecutorFailureError):
    """The Globus Compute endpoint an executor submits to is not online, does not exist,
    or refuses this user, so its tasks would wait at the service or be refused. The
    message quotes the endpoint's status or the service's answer."""

    code = "PLT-220"
    title = "Globus Compute endpoint offline or unavailable"
    default_hint = (
        "start the endpoint (globus-compute-endpoint start NAME) and check endpoint_id "
        "against `globus-compute-endpoint list`; set require_online = false to queue "
        "tasks at the service until the endpoint comes online"
    )


class PayloadTooLargeError(SerializationError):
    """A task's serialized function and arguments, or its serialized result, exceed the
    size Globus Compute carries (10 MB by default), so the service or the endpoint
    refuses it. The message gives the size and the limit."""

    code = "PLT-221"
    title = "task data too large for Globus Compute"
    default_hint = (
        "pass large data by reference instead: write it to a file system the endpoint "
        "shares (or stage it with File and a stager) and pass the path; return a path "
        "rather than a large value"
    )


class EndpointVersionMismatchError(ExecutorFailureError):
    """The endpoint's workers could not run the task as the submitting side sent it:
    their Python (major.minor), plait or plait-globus-compute version differs, or they
    lack a module the task needs, so the task could not be loaded there. The message
    names both sides' versions and quotes the endpoint's error."""

    code = "PLT-222"
    title = "endpoint's Python or packages differ from the submitting side"
    default_hint = (
        "install the same Python version, plait and plait-globus-compute (and the "
        "task's own modules) in the endpoint's worker environment, e.g. through its "
        "worker_init, or submit from an environment that matches the endpoint's"
    )
