"""plait-proxystore: large objects travel as ProxyStore proxies, resolved where used."""

from plait_proxystore.serializer import ProxyStoreSerializer

__all__ = ["ProxyStoreSerializer"]
