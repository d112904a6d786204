"""Entry point ``threads``: registers the thread pool executor."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_threads.executor import ThreadPoolExecutor


@hookimpl
def plait_register_executors(registry: Registry) -> None:
    registry.add("threads", ThreadPoolExecutor)
