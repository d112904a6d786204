"""Entry point ``dill``: registers the dill serializer."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_dill.serializer import DillSerializer


@hookimpl
def plait_register_serializers(registry: Registry) -> None:
    registry.add("dill", DillSerializer)
