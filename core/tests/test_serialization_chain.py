"""SerializerChain: order, fallback, the selection hook, errors naming every serializer
and the argument, and rebuilding a chain on a worker."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from plait.errors import ComponentNotFoundError, ConfigError, SerializationError
from plait.interfaces import Serializer
from plait.plugins import get_plugin_system, hookimpl
from plait.serialization import SerializerChain


class Refusing(Serializer):
    """Carries ints only."""

    identifier: ClassVar[bytes] = b"test-ints"
    maturity: ClassVar[str] = "alpha"

    def serialize(self, obj: Any) -> bytes:
        if type(obj) is not int:
            raise TypeError(f"only ints, not {type(obj).__name__}")
        return str(obj).encode()

    def deserialize(self, payload: bytes) -> Any:
        return int(payload)


def test_each_object_goes_with_the_first_serializer_that_carries_it() -> None:
    chain = SerializerChain([Refusing(), "pickle"])
    assert chain.dumps(7).startswith(b"test-ints\n")
    assert chain.dumps("seven").startswith(b"pickle\n")
    assert chain.loads(chain.dumps(7)) == 7 and chain.loads(chain.dumps("x")) == "x"
    assert chain.names == ["Refusing", "pickle"]


def test_any_chain_decodes_by_the_header() -> None:
    payload = SerializerChain(["pickle"]).dumps({"a": [1, 2]})
    assert SerializerChain([Refusing()]).loads(payload) == {"a": [1, 2]}


def test_error_lists_every_serializer_tried() -> None:
    chain = SerializerChain([Refusing(), "pickle"], owner="the test's serializers")
    with pytest.raises(SerializationError) as info:
        chain.dumps(threading.Lock(), "the lock")
    text = str(info.value)
    assert "the lock of type lock" in text and "the test's serializers" in text
    assert "Refusing: TypeError: only ints" in text and "pickle: TypeError" in text
    assert set(info.value.details["tried"]) == {"Refusing", "pickle"}


def test_arguments_error_names_the_argument() -> None:
    chain = SerializerChain(["pickle"])
    assert chain.loads(chain.dumps_arguments((1, "a"), {"k": 2})) == ((1, "a"), {"k": 2})
    with pytest.raises(SerializationError, match="argument 2 of type lock"):
        chain.dumps_arguments((1, threading.Lock()), {})
    with pytest.raises(SerializationError, match="argument 'gen' of type generator"):
        chain.dumps_arguments((), {"gen": (i for i in range(3))})


def test_functions_are_encoded_once() -> None:
    chain = SerializerChain(["pickle"])
    first = chain.dumps_function(len)
    assert chain.dumps_function(len) is first
    assert chain.loads(first) is len


def test_selection_hook_picks_per_object(monkeypatch: pytest.MonkeyPatch) -> None:
    class Picker:
        @hookimpl
        def plait_select_serializer(self, obj: Any, candidates: list[str]) -> str | None:
            return "pickle" if isinstance(obj, int) and obj > 100 else None

    system = get_plugin_system()
    picker = Picker()
    system.pm.register(picker, name="test-picker")
    try:
        chain = SerializerChain([Refusing(), "pickle"])
        assert chain.dumps(5).startswith(b"test-ints\n")
        assert chain.dumps(500).startswith(b"pickle\n")
    finally:
        system.pm.unregister(picker)


def test_bad_specs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="is empty"):
        SerializerChain([])
    with pytest.raises(ConfigError, match=r"serializers\[1\].*no-such-serializer"):
        SerializerChain(["pickle", "no-such-serializer"])
    with pytest.raises(ConfigError, match="not a serializer name"):
        SerializerChain([42])


def test_spec_rebuilds_the_chain_and_names_what_to_install() -> None:
    spec = SerializerChain(["pickle"]).spec()
    assert spec["serializers"] == [{"kind": "pickle"}]
    assert spec["distributions"]["pickle"].startswith("plait ")
    rebuilt = SerializerChain.from_spec(spec)
    assert rebuilt.loads(rebuilt.dumps([1])) == [1]
    missing = {
        "serializers": [{"kind": "pickle"}, {"kind": "msgpack-x"}],
        "distributions": {"msgpack-x": "plait-msgpack-x 2.0"},
    }
    with pytest.raises(ComponentNotFoundError) as info:
        SerializerChain.from_spec(missing, where="node7")
    assert "msgpack-x" in str(info.value) and "node7" in str(info.value)
    assert "install plait-msgpack-x 2.0" in info.value.hint
