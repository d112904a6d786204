"""Serializer lists across packages: plait-htex with a configured ProxyStore serializer
and with dill, the options reaching the workers through the chain's spec."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import plait
from plait.conformance.tasks import size_of

pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")

TIMEOUT = 60.0
BIG = 8 * 1024 * 1024


def make_bytes(size: int) -> bytes:
    return b"\x01" * size


def load(tmp_path: Path, serializers: list[Any]) -> plait.DataFlowKernel:
    htex = {"kind": "htex", "max_workers_per_node": 1, "serializers": serializers}
    config = plait.Config(executors=[htex], run_dir=str(tmp_path / "runinfo"), error_reporters=[])
    return plait.load(config)


def test_large_arguments_and_results_travel_through_a_proxystore(tmp_path: Path) -> None:
    store = tmp_path / "store"
    proxystore = {"kind": "proxystore", "threshold": 1_000_000, "store_dir": str(store)}
    with load(tmp_path, [proxystore, "pickle"]):
        assert plait.python_app(size_of)(b"\x02" * BIG).result(TIMEOUT) == BIG
        assert any(store.iterdir()), "the large argument did not go to the store"
        before = {p.name for p in store.iterdir()}
        result = plait.python_app(make_bytes)(BIG).result(TIMEOUT)
        assert bytes(result) == b"\x01" * BIG
        assert {p.name for p in store.iterdir()} - before, "the result was not proxied"
        assert plait.python_app(size_of)(b"small").result(TIMEOUT) == 5


def hold(lock: Any) -> bool:
    return bool(lock.acquire(blocking=False))


def test_dill_carries_what_pickle_and_cloudpickle_refuse(tmp_path: Path) -> None:
    with load(tmp_path, ["pickle", "dill"]):
        assert plait.python_app(hold)(threading.Lock()).result(TIMEOUT) is True
