"""What users rely on: large objects travel as small proxies that resolve, lazily, in
another process; small ones travel inline; options are checked when configured."""

from __future__ import annotations

import json
import os
import pickle
import random
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest
from proxystore.proxy import Proxy, ProxyResolveError, extract, is_resolved

from plait.errors import ConfigError
from plait.interfaces.serializer import frame, unframe
from plait.plugins import registry
from plait_proxystore import ProxyStoreSerializer
from plait_proxystore.serializer import default_store_dir

MIB = 1024 * 1024


def big_bytes(size: int = 4 * MIB, seed: int = 7) -> bytearray:
    """``size`` pseudo-random bytes, as an array's buffer would be."""
    return bytearray(random.Random(seed).randbytes(size))


def stored_files(store_dir: Path) -> list[str]:
    return sorted(p.name for p in store_dir.iterdir()) if store_dir.exists() else []


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def serializer(store_dir: Path) -> ProxyStoreSerializer:
    return ProxyStoreSerializer(threshold=100_000, store_dir=str(store_dir))


def test_registered_as_proxystore() -> None:
    assert registry("serializer").get("proxystore") is ProxyStoreSerializer


# --- what travels how ------------------------------------------------------------------


def test_small_objects_travel_inline_and_touch_no_store(
    serializer: ProxyStoreSerializer, store_dir: Path
) -> None:
    small = {"values": list(range(1000)), "blob": bytes(50_000)}
    body = serializer.serialize(small)
    assert len(pickle.dumps(small, protocol=5)) <= serializer.threshold
    assert body[:1] == b"v", "an object under the threshold is not proxied"
    back = ProxyStoreSerializer().deserialize(body)
    assert type(back) is dict and back == small
    assert not store_dir.exists(), "nothing was stored, so the store directory was not made"


def test_large_object_becomes_a_tiny_proxy_in_the_store(
    serializer: ProxyStoreSerializer, store_dir: Path
) -> None:
    data = big_bytes()
    body = serializer.serialize(data)
    assert body[:1] == b"p"
    assert len(body) < len(data) / 100, f"the body is {len(body)} bytes"
    assert len(body) < 2000
    # one object file plus ProxyStore's ".ready" marker
    files = stored_files(store_dir)
    assert len(files) == 2 and sum(f.endswith(".ready") for f in files) == 1
    back = ProxyStoreSerializer().deserialize(body)
    assert type(back) is Proxy
    assert isinstance(back, bytearray), "the proxy knows its class before it is resolved"
    assert not is_resolved(back), "isinstance() did not fetch the object"
    assert back == data
    assert is_resolved(back)
    assert type(extract(back)) is bytearray and extract(back) == data


def test_threshold_is_the_pickled_size(store_dir: Path) -> None:
    data = bytes(10_000)
    size = len(pickle.dumps(data, protocol=5))
    at = ProxyStoreSerializer(threshold=size, store_dir=str(store_dir))
    below = ProxyStoreSerializer(threshold=size - 1, store_dir=str(store_dir))
    assert at.serialize(data)[:1] == b"v"
    assert below.serialize(data)[:1] == b"p"
    zero = ProxyStoreSerializer(threshold=0, store_dir=str(store_dir))
    assert zero.serialize(None)[:1] == b"p", "with threshold 0 every object is proxied"
    assert extract(zero.deserialize(zero.serialize(None))) is None
    assert extract(zero.deserialize(zero.serialize([1, 2]))) == [1, 2]


def test_proxy_is_not_fetched_until_used(serializer: ProxyStoreSerializer, store_dir: Path) -> None:
    """Decoding a proxy reads nothing from the store: after the stored object is gone, the
    body still decodes, and only using the proxy fails."""
    body = serializer.serialize(big_bytes(MIB))
    for name in stored_files(store_dir):
        (store_dir / name).unlink()
    back = ProxyStoreSerializer().deserialize(body)
    assert not is_resolved(back)
    with pytest.raises(ProxyResolveError):
        len(back)


CHILD = """
import hashlib, json, sys
from proxystore.proxy import extract, is_resolved
from plait_proxystore import ProxyStoreSerializer

body = open(sys.argv[1], "rb").read()
value = ProxyStoreSerializer().deserialize(body)
lazy = not is_resolved(value)
target = extract(value)
print(json.dumps({
    "lazy": lazy,
    "type": type(target).__name__,
    "size": len(target),
    "sha256": hashlib.sha256(target).hexdigest(),
}))
"""


def run_child(body: bytes, tmp_path: Path, script: str = CHILD) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "body.bin"
    path.write_bytes(body)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


def test_proxy_resolves_in_another_process_with_a_default_instance(
    serializer: ProxyStoreSerializer, tmp_path: Path
) -> None:
    import hashlib

    data = big_bytes(8 * MIB, seed=13)
    body = serializer.serialize(data)
    assert len(body) < len(data) / 100
    run = run_child(body, tmp_path)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen == {
        "lazy": True,
        "type": "bytearray",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_proxied_object_passed_on_travels_as_the_proxy(
    serializer: ProxyStoreSerializer, store_dir: Path
) -> None:
    """A result that came back as a proxy, sent on to another task: only the proxy
    travels (inline), and nothing more is stored."""
    proxy = serializer.deserialize(serializer.serialize(big_bytes(MIB)))
    files = stored_files(store_dir)
    body = serializer.serialize([proxy])
    assert body[:1] == b"v" and len(body) < 2000
    assert not is_resolved(proxy)
    assert stored_files(store_dir) == files
    (again,) = ProxyStoreSerializer().deserialize(body)
    assert not is_resolved(again)
    assert again == big_bytes(MIB)


# --- connectors and cleanup ------------------------------------------------------------


def test_local_connector_within_one_process(tmp_path: Path) -> None:
    serializer = ProxyStoreSerializer(threshold=1000, connector="local")
    data = {"rows": [list(range(100)) for _ in range(50)]}
    body = serializer.serialize(data)
    assert body[:1] == b"p" and len(body) < 1000
    back = ProxyStoreSerializer().deserialize(body)
    assert not is_resolved(back)
    assert back == data
    assert type(extract(back)) is dict
    assert list(tmp_path.iterdir()) == [], "the local connector keeps objects in memory"


LOCAL_CHILD = """
import sys
from plait_proxystore import ProxyStoreSerializer
value = ProxyStoreSerializer().deserialize(open(sys.argv[1], "rb").read())
try:
    len(value)
except Exception as exc:
    print(type(exc).__name__, exc.__cause__ and type(exc.__cause__).__name__)
else:
    print("resolved")
"""


def test_local_connector_proxy_does_not_resolve_in_another_process(tmp_path: Path) -> None:
    body = ProxyStoreSerializer(threshold=1000, connector="local").serialize(bytes(5000))
    run = run_child(body, tmp_path, LOCAL_CHILD)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["ProxyResolveError", "ProxyResolveMissingKeyError"]


def test_connector_by_dotted_class_path() -> None:
    serializer = ProxyStoreSerializer(
        threshold=100,
        connector="proxystore.connectors.local.LocalConnector",
        connector_options={"include_data_in_config": False},
    )
    assert serializer.store_config().connector.kind.endswith("LocalConnector")
    assert serializer.deserialize(serializer.serialize(bytes(1000))) == bytes(1000)


def test_evict_deletes_the_object_when_first_resolved(store_dir: Path) -> None:
    serializer = ProxyStoreSerializer(threshold=1000, store_dir=str(store_dir), evict=True)
    body = serializer.serialize(bytes(range(256)) * 100)
    assert len(stored_files(store_dir)) == 2
    first = serializer.deserialize(body)
    assert first == bytes(range(256)) * 100
    assert stored_files(store_dir) == []
    second = serializer.deserialize(body)
    with pytest.raises(ProxyResolveError):
        len(second)


def test_objects_stay_in_the_store_without_evict(
    serializer: ProxyStoreSerializer, store_dir: Path
) -> None:
    body = serializer.serialize(big_bytes(MIB))
    for _ in range(2):
        assert ProxyStoreSerializer().deserialize(body) == big_bytes(MIB)
    assert len(stored_files(store_dir)) == 2


def test_each_resolve_gives_a_fresh_copy(serializer: ProxyStoreSerializer) -> None:
    """As with a plain pickle, two decoded proxies never share one object (the store
    keeps no cache), so a task that changes its argument cannot change another's."""
    body = serializer.serialize([bytes(200_000)])
    first, second = (ProxyStoreSerializer().deserialize(body) for _ in range(2))
    first.append(b"changed")
    assert extract(first) is not extract(second)
    assert second == [bytes(200_000)]


def test_differently_configured_instances_use_their_own_stores(tmp_path: Path) -> None:
    """ProxyStore finds stores by name: instances with other connector options get
    other names, so each proxy resolves from the store it was put into."""
    one = ProxyStoreSerializer(threshold=1000, store_dir=str(tmp_path / "one"))
    two = ProxyStoreSerializer(threshold=1000, store_dir=str(tmp_path / "two"))
    assert one.store_config().name != two.store_config().name
    assert one.store_config().name.startswith("plait-")
    body_one, body_two = one.serialize(b"1" * 5000), two.serialize(b"2" * 5000)
    assert len(stored_files(tmp_path / "one")) == len(stored_files(tmp_path / "two")) == 2
    assert two.deserialize(body_one) == b"1" * 5000
    assert one.deserialize(body_two) == b"2" * 5000


def test_default_store_dir_is_private_and_made_on_first_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    serializer = ProxyStoreSerializer(threshold=100_000)  # the default store_dir
    where = Path(default_store_dir())
    assert where.parent == tmp_path and where.name.startswith("plait-proxystore-")
    serializer.serialize(bytes(1000))
    assert not where.exists()
    body = serializer.serialize(bytes(200_000))
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    assert len(stored_files(where)) == 2
    assert serializer.deserialize(body) == bytes(200_000)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_default_store_dir_others_can_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    where = Path(default_store_dir())
    where.mkdir()
    where.chmod(0o777)
    with pytest.raises(PermissionError, match="only this user can write"):
        ProxyStoreSerializer(threshold=100_000).serialize(bytes(200_000))
    assert stored_files(where) == []


def test_construction_does_no_io(tmp_path: Path) -> None:
    target = tmp_path / "later" / "store"
    threads = set(threading.enumerate())
    serializer = ProxyStoreSerializer(threshold=10, store_dir=str(target))
    assert set(threading.enumerate()) == threads
    assert not target.exists()
    serializer.serialize(bytes(100))
    assert target.is_dir()


# --- threads, framing, refusals ----------------------------------------------------------


def test_proxies_from_many_threads(store_dir: Path) -> None:
    serializer = ProxyStoreSerializer(threshold=500, store_dir=str(store_dir))
    barrier = threading.Barrier(8)

    def work(thread: int) -> list[str]:
        barrier.wait(timeout=30)
        problems = []
        for i in range(25):
            obj = [thread, i, bytes([thread, i]) * 1000]
            back = serializer.deserialize(serializer.serialize(obj))
            if not isinstance(back, Proxy) or back != obj:
                problems.append(f"thread {thread}, round {i}")
        return problems

    with ThreadPoolExecutor(8) as pool:
        problems = [p for found in pool.map(work, range(8)) for p in found]
    assert not problems
    assert len(stored_files(store_dir)) == 2 * 8 * 25


def test_framed_payload_round_trips(serializer: ProxyStoreSerializer) -> None:
    payload = frame(serializer, {"big": bytes(300_000)})
    assert payload.startswith(b"proxystore\n") and len(payload) < 2000
    assert unframe(payload, [ProxyStoreSerializer()]) == {"big": bytes(300_000)}


def test_object_of_main_is_refused(
    serializer: ProxyStoreSerializer, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = types.ModuleType("__main__")
    exec("class Point:\n    def __init__(self, x):\n        self.x = x\n", script.__dict__)
    script.Point.__module__ = "__main__"
    monkeypatch.setitem(sys.modules, "__main__", script)
    with pytest.raises(pickle.PicklingError, match="__main__"):
        serializer.serialize([script.Point(1)])


@pytest.mark.parametrize(
    "payload",
    [b"", b"v", b"p" + pickle.dumps(("not", "a proxy")), b"x" + pickle.dumps(1)],
    ids=["empty", "tag only", "proxy tag, other pickle", "unknown tag"],
)
def test_bytes_it_did_not_make_are_refused(payload: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017 - pickle's own errors or ValueError
        ProxyStoreSerializer().deserialize(payload)


# --- options ------------------------------------------------------------------------------


def option_error(info: pytest.ExceptionInfo[ConfigError]) -> str:
    return str(info.value.details.get("option"))


@pytest.mark.parametrize("value", [-1, 1.5, 1e6, "100000", True, None])
def test_threshold_must_be_a_non_negative_int(value: Any) -> None:
    with pytest.raises(ConfigError, match="threshold") as info:
        ProxyStoreSerializer(threshold=value)
    assert option_error(info) == "threshold"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("redis", "proxystore.connectors.redis.RedisConnector"),
        ("fiel", "did you mean 'file'?"),
        ("no.such.module.Connector", "install the package"),
        ("proxystore.connectors.file.NoSuchConnector", "install the package"),
        ("json.JSONDecoder", None),
    ],
)
def test_unknown_connector_is_a_config_error(name: str, hint: str | None) -> None:
    with pytest.raises(ConfigError, match="connector") as info:
        ProxyStoreSerializer(connector=name)
    assert option_error(info) == "connector"
    assert repr(name) in info.value.message
    if hint:
        assert hint in info.value.hint


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"connector_options": {"no_such_option": 1}}, "connector_options"),
        ({"connector_options": {"store_dir": "/x"}}, "connector_options"),
        ({"connector_options": ["clear"]}, "connector_options"),
        ({"connector": "local", "store_dir": "/x"}, "store_dir"),
        ({"store_dir": ""}, "store_dir"),
        ({"store_name": ""}, "store_name"),
        ({"evict": "yes"}, "evict"),
    ],
)
def test_other_bad_options_are_config_errors(kwargs: dict[str, Any], option: str) -> None:
    with pytest.raises(ConfigError) as info:
        ProxyStoreSerializer(**kwargs)
    assert option_error(info) == option


def test_options_are_plain_data_that_rebuild_the_instance(tmp_path: Path) -> None:
    """Executors send a configured serializer's options to their workers as JSON."""
    serializer = ProxyStoreSerializer(
        threshold=1_000_000, store_dir=str(tmp_path), connector_options={"clear": False}
    )
    options = json.loads(json.dumps(attrs.asdict(serializer, recurse=False)))
    rebuilt = ProxyStoreSerializer(**options)
    assert rebuilt == serializer
    assert rebuilt.store_config() == serializer.store_config()
