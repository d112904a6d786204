"""A configuration as plain data with every default filled in (``plait config show``)."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs

from plait.config.config import STAGING_KEYS, Config, component_spec
from plait.interfaces import Component
from plait.registry import KIND_BASES


def _converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook_func(
        lambda cls: (
            isinstance(cls, type)
            and typing.get_origin(cls) is None  # tuple[int, int] is a type on Python 3.10
            and issubclass(cls, Component)
        ),
        _component,
    )
    conv.register_unstructure_hook(tuple, lambda value: [_CONVERTER.unstructure(v) for v in value])
    return conv


def _component(component: Component) -> dict[str, Any]:
    kind = next(k for k, base in KIND_BASES.items() if isinstance(component, base))
    spec = component_spec(kind, component)
    if kind == "executor":  # the kernel's keys of an executor table, when set
        spec |= {k: getattr(component, k) for k in STAGING_KEYS if getattr(component, k, None)}
    return {key: _plain(value) for key, value in spec.items()}


def _plain(value: Any) -> Any:
    """``value`` as data YAML and JSON can carry (other objects as their repr)."""
    value = _CONVERTER.unstructure(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)


_CONVERTER = _converter()


def resolved_config(config: Config) -> dict[str, Any]:
    """Every option of ``config`` and of its components, defaults included, as data."""
    return {field.name: _plain(getattr(config, field.name)) for field in attrs.fields(Config)}
