"""Checking a task's payload before it reaches the SDK.

The SDK's executor serializes a batch of tasks on its submission thread and sends it in
one request; a task that cannot be serialized, or a request the service refuses, fails
every task of the batch and stops that executor for good. So each task is serialized
here first, with the same serializer: a task that cannot travel, or is larger than
``max_payload_bytes``, fails alone, at submit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plait.errors import SerializationError
from plait_globus_compute.errors import PayloadTooLargeError


def check(
    serializer: Any,
    runner_args: tuple[Any, ...],
    app_args: Sequence[Any],
    app_kwargs: Mapping[str, Any],
    limit: int,
    what: str,
) -> int:
    """Serialize ``runner_args`` (what :func:`plait_globus_compute.remote.run` receives)
    with the SDK's ``serializer``; return the size in bytes. Raise
    :class:`~plait.errors.SerializationError` naming the argument that cannot be
    serialized, or :class:`PayloadTooLargeError` when the size exceeds ``limit``."""
    try:
        size = len(serializer.serialize(runner_args))
    except Exception as whole:
        named: list[tuple[str, Any]] = [("the function", runner_args[0])]
        named += [(f"argument {i + 1}", value) for i, value in enumerate(app_args)]
        named += [(f"argument {key!r}", value) for key, value in app_kwargs.items()]
        culprit, why = "the task", whole
        for label, value in named:
            try:
                serializer.serialize(value)
            except Exception as exc:
                culprit, why = label, exc
                break
        raise SerializationError(
            f"{culprit} of {what} could not be serialized by Globus Compute's serializer "
            f"({type(why).__name__}: {why})",
            tried={"globus-compute": f"{type(why).__name__}: {why}"},
        ) from None
    if size > limit:
        raise PayloadTooLargeError(
            f"{what} serializes to {size} bytes, over max_payload_bytes={limit}",
            size=size,
            limit=limit,
        )
    return size
