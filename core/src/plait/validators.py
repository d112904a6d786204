"""attrs validators shared by the core's and plugins' configuration classes."""

from __future__ import annotations

import math
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
