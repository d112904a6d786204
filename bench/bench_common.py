"""What the benchmark scripts share: the versions and plugins a report names."""

from __future__ import annotations

from importlib import metadata
from typing import Any


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


def plait_htex_config(workers: int, run_dir: str) -> Any:
    """The plait-htex configuration of ``peers.py`` and ``soak.py``: ``workers``
    workers in one local block."""
    import plait

    return plait.Config.from_dict(
        {
            "executors": [
                {
                    "kind": "htex",
                    "label": "htex",
                    "max_workers_per_node": workers,
                    "provider": {"kind": "local", "init_blocks": 1, "max_blocks": 1},
                }
            ],
            "run_dir": run_dir,
            # harmless if they are past development; needed while they are not
            "enable_development": ["htex", "local"],
        }
    )
