"""Fixtures shared by the cross-package tests (plait is imported inside fixtures so that
typeguard instruments it: see core/tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

PLUGIN_ENV = ("PLAIT_LOAD_PLUGINS", "PLAIT_DISABLE_PLUGINS", "PLAIT_TRACE_PLUGINS")


@pytest.fixture
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start from unloaded plugins and a clean plugin environment; reset afterwards
    (registries keep what a plugin added, so no test sees another's plugins)."""
    import plait
    from plait.plugins import reset_plugin_system

    for var in PLUGIN_ENV:
        monkeypatch.delenv(var, raising=False)
    plait.clear()
    reset_plugin_system()
    yield
    plait.clear()
    reset_plugin_system()
