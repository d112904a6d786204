"""Entry point ``cloudpickle``: registers the cloudpickle serializer."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_cloudpickle.serializer import CloudpickleSerializer


@hookimpl
def plait_register_serializers(registry: Registry) -> None:
    registry.add("cloudpickle", CloudpickleSerializer)
