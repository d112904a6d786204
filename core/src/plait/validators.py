"""attrs validators shared by the core's and plugins' configuration classes."""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from plait.errors import ConfigError, PlaitError

if TYPE_CHECKING:
    AttrsField = attrs.Attribute[Any]
else:  # attrs.Attribute is not subscriptable at run time (typeguard evaluates hints)
    AttrsField = attrs.Attribute

Validator = Callable[[Any, AttrsField, Any], None]


def int_at_least(
    minimum: int, *, error: type[PlaitError] = ConfigError, optional: bool = False
) -> Validator:
    """A validator accepting integers ``>= minimum`` (and None when ``optional``)."""

    def check(instance: Any, attribute: AttrsField, value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            owner = type(instance).__name__
            raise error(
                f"{owner}.{attribute.name}={value!r} must be an integer >= {minimum}",
                option=attribute.name,
            )

    return check


def positive_number(*, optional: bool = False, unit: str = "number") -> Validator:
    """A validator accepting finite numbers ``> 0`` (and None when ``optional``);
    ``unit`` words the error, e.g. ``"number of seconds"``."""

    def check(instance: Any, attribute: AttrsField, value: Any) -> None:
        if value is None and optional:
            return
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (number and math.isfinite(value) and value > 0):
            raise ConfigError(
                f"{type(instance).__name__}.{attribute.name}={value!r} must be a positive {unit}",
                option=attribute.name,
            )

    return check


def _owner(instance: Any, attribute: AttrsField) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def non_empty_str(instance: Any, attribute: AttrsField, value: Any) -> None:
    """A validator accepting a str with something other than whitespace."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"{_owner(instance, attribute)}={value!r} must be a non-empty str",
            option=attribute.name,
        )


def text(*, optional: bool = False) -> Validator:
    """A validator accepting any str (and None when ``optional``)."""

    def check(instance: Any, attribute: AttrsField, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str):
            raise ConfigError(
                f"{_owner(instance, attribute)}={value!r} must be a str", option=attribute.name
            )

    return check


def fraction(instance: Any, attribute: AttrsField, value: Any) -> None:
    """A validator accepting a number from 0 to 1 (``parallelism``)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and 0 <= value <= 1):
        raise ConfigError(
            f"{_owner(instance, attribute)}={value!r} must be a number from 0 to 1",
            option=attribute.name,
        )


def walltime_seconds(value: Any) -> float | None:
    """An attrs converter for a ``walltime`` option: seconds as a number or
    ``"HH:MM:SS"`` become float seconds, None stays None (no limit); anything else raises
    :class:`~plait.errors.ConfigError` naming ``walltime``."""
    from plait.interfaces.types import parse_walltime

    try:
        return parse_walltime(value)
    except PlaitError as exc:
        raise ConfigError(exc.message, hint=exc.hint, option="walltime") from None


def one_line(instance: Any, attribute: AttrsField, value: Any) -> None:
    """A validator accepting None or a non-blank str of one line (a value written into a
    batch script directive)."""
    if value is None:
        return
    if not isinstance(value, str) or "\n" in value or not value.strip():
        raise ConfigError(
            f"{_owner(instance, attribute)}={value!r} must be one non-blank line",
            option=attribute.name,
        )


def shell_words(*, optional: bool = False, error: type[PlaitError] = ConfigError) -> Validator:
    """A validator accepting a str on one line that splits into words as a shell would
    split it (options pasted into a command line and split with ``shlex.split``),
    and None when ``optional``."""

    def check(instance: Any, attribute: AttrsField, value: Any) -> None:
        if value is None and optional:
            return
        where = _owner(instance, attribute)
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise error(
                f"{where}={value!r} must be one line of options",
                hint='write the options on one line, e.g. "--bind-to core"',
                option=attribute.name,
            )
        try:
            shlex.split(value)
        except ValueError as exc:
            raise error(
                f"{where}={value!r} cannot be split into words ({exc})",
                hint="close its quotes",
                option=attribute.name,
            ) from None

    return check


def flag(instance: Any, attribute: AttrsField, value: Any) -> None:
    """A validator accepting True or False only."""
    if not isinstance(value, bool):
        raise ConfigError(
            f"{_owner(instance, attribute)}={value!r} must be true or false",
            option=attribute.name,
        )


def required(reason: str, hint: str) -> Validator:
    """A validator refusing None, saying why (``reason``) and what to give (``hint``)."""

    def check(instance: Any, attribute: AttrsField, value: Any) -> None:
        if value is None:
            raise ConfigError(
                f"{_owner(instance, attribute)}=None: {reason}", hint=hint, option=attribute.name
            )

    return check
