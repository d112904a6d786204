"""plait-htex: the high-throughput executor (interchange, managers, worker pools).

The package imports nothing heavy at import time, so the interchange and worker
processes (``python -m plait_htex.interchange`` ...) start fast;
``plait_htex.HighThroughputExecutor`` is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plait_htex.executor import HighThroughputExecutor

__all__ = ["HighThroughputExecutor"]


def __getattr__(name: str) -> Any:
    if name == "HighThroughputExecutor":
        from plait_htex.executor import HighThroughputExecutor

        return HighThroughputExecutor
    raise AttributeError(f"module 'plait_htex' has no attribute {name!r}")
