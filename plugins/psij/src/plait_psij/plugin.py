"""Entry point ``psij``: registers the PSI/J provider."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_psij.provider import PSIJProvider


@hookimpl
def plait_register_providers(registry: Registry) -> None:
    registry.add("psij", PSIJProvider)
