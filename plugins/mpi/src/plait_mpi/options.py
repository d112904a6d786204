"""Checks and conversions of the launchers' options; each error is a
:class:`~plait.errors.ConfigError` naming the option."""

from __future__ import annotations

import re
from typing import Any

from plait.errors import ConfigError
from plait.validators import AttrsField

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_.,=+-]*")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _fail(instance: Any, attribute: AttrsField, value: Any, what: str, hint: str) -> None:
    raise ConfigError(
        f"{type(instance).__name__}.{attribute.name}={value!r} {what}",
        hint=hint,
        option=attribute.name,
    )


def one_line(instance: Any, attribute: AttrsField, value: Any) -> None:
    """A str on one line (it is pasted into the launch line)."""
    if not isinstance(value, str):
        _fail(instance, attribute, value, "must be a str", "give the value as text")
    elif "\n" in value or "\r" in value:
        _fail(instance, attribute, value, "spans several lines", "write it on one line")


def executable(instance: Any, attribute: AttrsField, value: Any) -> None:
    """A non-empty command name or path on one line."""
    one_line(instance, attribute, value)
    if not value.strip():
        _fail(instance, attribute, value, "is empty", 'name the MPI launcher, e.g. "mpiexec"')


def bind_policy(instance: Any, attribute: AttrsField, value: Any) -> None:
    """None or one word of the MPI's binding syntax (``core``, ``none``, ``l3cache``,
    ``core:overload-allowed``)."""
    if value is not None and not (isinstance(value, str) and _WORD.fullmatch(value)):
        _fail(
            instance,
            attribute,
            value,
            "is not a binding policy",
            'use one word such as "core", "hwthread", "numa" or "none"; omit it for the '
            "MPI's default",
        )


def optional_bool(instance: Any, attribute: AttrsField, value: Any) -> None:
    """True, False or None (decide when the line runs)."""
    if value is not None and not isinstance(value, bool):
        _fail(instance, attribute, value, "must be true, false or omitted", "omit it for auto")


def hosts_option(value: Any) -> str | tuple[str, ...]:
    """An attrs converter for ``hosts``: ``"auto"``, or a non-empty list of host names
    (returned as a tuple)."""
    if value == "auto":
        return "auto"
    hosts = value if isinstance(value, (list, tuple)) else ()
    if hosts and all(isinstance(host, str) and _HOST.fullmatch(host) for host in hosts):
        return tuple(hosts)
    raise ConfigError(
        f'hosts={value!r} must be "auto" or a non-empty list of host names',
        hint='use hosts = "auto" (the batch job\'s hosts, else this host) or '
        'hosts = ["node1", "node2"]',
        option="hosts",
    )
