"""plait-proxystore against the serializer conformance kit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plait.conformance.serializer import LARGE, SerializerConformance
from plait.interfaces import Serializer
from plait_proxystore import ProxyStoreSerializer


class TestProxyStoreSerializer(SerializerConformance):
    """Options under which every kit sample, the 8 MiB bytes included, travels inline:
    the kit checks ``type(value) is type(expected)``, which a proxy never is."""

    component_class = ProxyStoreSerializer

    @pytest.fixture
    def component_kwargs(self, tmp_path: Path) -> dict[str, Any]:
        return {"threshold": 2 * LARGE, "store_dir": str(tmp_path / "store")}


class TestProxyStoreSerializerProxying(SerializerConformance):
    """Options under which the kit's 8 MiB bytes goes through a file store: everything
    passes except the kit's type identity check on that value."""

    component_class = ProxyStoreSerializer

    @pytest.fixture
    def component_kwargs(self, tmp_path: Path) -> dict[str, Any]:
        return {"threshold": LARGE // 8, "store_dir": str(tmp_path / "store")}

    @pytest.mark.xfail(
        strict=True,
        reason="over the threshold the value comes back as an unresolved proxystore Proxy: "
        "equal to the original and isinstance() of its type, but type(value) is Proxy "
        "(test_proxystore.py checks the value through the store)",
    )
    def test_large_bytes_round_trip(self, serializer: Serializer) -> None:
        super().test_large_bytes_round_trip(serializer)
