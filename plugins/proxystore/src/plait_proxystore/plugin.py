"""Entry point ``proxystore``: registers the ProxyStore serializer."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_proxystore.serializer import ProxyStoreSerializer


@hookimpl
def plait_register_serializers(registry: Registry) -> None:
    registry.add("proxystore", ProxyStoreSerializer)
