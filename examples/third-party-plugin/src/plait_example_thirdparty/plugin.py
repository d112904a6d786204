"""Entry point ``example-thirdparty``: registers this distribution's two components."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_example_thirdparty.executor import ProcessExecutor
from plait_example_thirdparty.serializer import JsonSerializer


@hookimpl
def plait_register_executors(registry: Registry) -> None:
    registry.add("example-process", ProcessExecutor)


@hookimpl
def plait_register_serializers(registry: Registry) -> None:
    registry.add("example-json", JsonSerializer)
