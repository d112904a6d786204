"""Entry point ``local``: registers the local provider and the generic launchers."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_local.launchers import SimpleLauncher, SingleNodeLauncher, WrappedLauncher
from plait_local.provider import LocalProvider


@hookimpl
def plait_register_providers(registry: Registry) -> None:
    registry.add("local", LocalProvider)


@hookimpl
def plait_register_launchers(registry: Registry) -> None:
    registry.add("simple", SimpleLauncher)
    registry.add("single-node", SingleNodeLauncher)
    registry.add("wrapped", WrappedLauncher)
