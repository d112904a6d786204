"""Checking the executor's options (each error a ConfigError naming the option)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from plait.errors import ConfigError
from plait.validators import AttrsField

MAX_PAYLOAD_BYTES = 10_000_000
"""The service's documented limit on a task's serialized data (10 MB)."""
AMQP_PORTS = (443, 5671, 5672)
"""The ports the service's result queues listen on."""


def as_uuid(value: Any, option: str) -> str | None:
    """None, or a UUID (str or ``uuid.UUID``) as canonical text."""
    if value is None:
        return None
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except ValueError:
        raise ConfigError(
            f"GlobusComputeExecutor.{option}={value!r} is not a UUID",
            hint="copy the id from `globus-compute-endpoint list` (endpoint_id) or from the "
            "function's registration (function_id)",
            option=option,
        ) from None


def endpoint_uuid(value: Any) -> str | None:
    """The ``endpoint_id`` converter."""
    return as_uuid(value, "endpoint_id")


def function_uuid(value: Any) -> str | None:
    """The ``function_id`` converter."""
    return as_uuid(value, "function_id")


def between(low: int, high: int) -> Callable[[Any, AttrsField, Any], None]:
    """A validator accepting integers from ``low`` to ``high``."""

    def check(instance: Any, attribute: AttrsField, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(
                f"GlobusComputeExecutor.{attribute.name}={value!r} must be an integer from "
                f"{low} to {high}",
                option=attribute.name,
            )

    return check


def amqp_port(instance: Any, attribute: AttrsField, value: Any) -> None:
    """None, or a port the result queues use."""
    if value is not None and (isinstance(value, bool) or value not in AMQP_PORTS):
        raise ConfigError(
            f"GlobusComputeExecutor.amqp_port={value!r} is not a port the service's result "
            f"queues use ({', '.join(map(str, AMQP_PORTS))})",
            hint="leave amqp_port unset unless a firewall blocks the default (443)",
            option="amqp_port",
        )


def client(instance: Any, attribute: AttrsField, value: Any) -> None:
    """None, or a ``globus_compute_sdk.Client``."""
    from globus_compute_sdk import Client

    if value is not None and not isinstance(value, Client):
        raise ConfigError(
            f"GlobusComputeExecutor.client={value!r} is not a globus_compute_sdk.Client",
            hint="give a Client instance in Python, or leave client unset to log in as "
            "the SDK does (GLOBUS_COMPUTE_CLIENT_ID / GLOBUS_COMPUTE_CLIENT_SECRET for a "
            "client identity)",
            option="client",
        )


def endpoint_config(instance: Any, attribute: AttrsField, value: Any) -> None:
    """None, or a table of JSON values with str keys."""
    if value is None:
        return
    try:
        ok = isinstance(value, dict) and all(isinstance(k, str) for k in value)
        json.dumps(value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(
            f"GlobusComputeExecutor.user_endpoint_config={value!r} is not a table of JSON values",
            hint="give the values the endpoint's template expects, e.g. "
            'user_endpoint_config = {account = "abc123", walltime = "01:00:00"}',
            option="user_endpoint_config",
        )
