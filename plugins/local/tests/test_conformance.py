"""plait-local against the provider and launcher conformance kits."""

from __future__ import annotations

from typing import Any

import pytest

from plait.conformance.launcher import LauncherConformance
from plait.conformance.provider import ProviderConformance
from plait_local import LocalProvider, SimpleLauncher, SingleNodeLauncher, WrappedLauncher


class TestLocalProvider(ProviderConformance):
    component_class = LocalProvider

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"label": "kit", "kill_grace": 2.0}


class TestLocalProviderSimpleLauncher(ProviderConformance):
    """The provider with the launcher that runs the command as is (blocks are then the
    command's own bash, with nothing between it and the provider)."""

    component_class = LocalProvider

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"label": "kit-simple", "launcher": "simple", "worker_init": "export PLAIT_KIT=1"}


class TestSimpleLauncher(LauncherConformance):
    component_class = SimpleLauncher


class TestSingleNodeLauncher(LauncherConformance):
    component_class = SingleNodeLauncher


class TestWrappedLauncher(LauncherConformance):
    """With a real prefix: ``env`` (itself given a quoted argument) execs the command's
    bash, as a container runtime would."""

    component_class = WrappedLauncher

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"prepend": "env 'PLAIT_WRAPPED=a b'"}


class TestWrappedLauncherWithoutPrefix(LauncherConformance):
    """The default (no prefix), as `plait conformance wrapped` runs it."""

    component_class = WrappedLauncher
