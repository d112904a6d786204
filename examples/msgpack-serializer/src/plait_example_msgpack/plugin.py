"""The plugin module named by the entry point: registers the serializer."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_example_msgpack.serializer import MsgpackSerializer


@hookimpl
def plait_register_serializers(registry: Registry) -> None:
    """Make ``serializers = ["example-msgpack", ...]`` find the class."""
    registry.add("example-msgpack", MsgpackSerializer)
