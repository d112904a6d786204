"""What the benchmark scripts share: the versions and plugins a report names."""

from __future__ import annotations

from importlib import metadata


def plait_plugins() -> str:
    """The plait plugins loaded here: one that records every task event (such as the
    test-only plait-example-plugin) changes both speed and memory figures."""
    try:
        from plait.plugins import get_plugin_system
    except ImportError:
        return "plait not installed"
    return ", ".join(sorted(get_plugin_system().plugins))


def version(dist: str) -> str:
    """The installed version of distribution ``dist``, or "not installed"."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"
