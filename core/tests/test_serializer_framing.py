"""Payload framing (``plait.interfaces.serializer.frame`` / ``unframe``) and the
``code`` capability that ``can_code`` implies (``interface-specs/serializer.md``)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from plait.builtins import PickleSerializer
from plait.errors import ComponentNotFoundError
from plait.interfaces import Serializer
from plait.interfaces.serializer import frame, identifier_of, unframe


class JsonLike(Serializer):
    identifier = b"test-json"

    def serialize(self, obj: Any) -> bytes:
        return json.dumps(obj).encode()

    def deserialize(self, payload: bytes) -> Any:
        return json.loads(payload)


class ReturnsStr(Serializer):
    identifier = b"test-str"

    def serialize(self, obj: Any) -> bytes:
        return json.dumps(obj)  # type: ignore[return-value]  # the mistake under test

    def deserialize(self, payload: bytes) -> Any:
        return json.loads(payload)


def test_a_frame_is_the_identifier_a_newline_and_the_body() -> None:
    payload = frame(JsonLike(), {"a": [1, 2]})
    assert payload == b'test-json\n{"a": [1, 2]}'
    assert identifier_of(payload) == b"test-json"


def test_unframe_picks_the_serializer_named_in_the_header() -> None:
    candidates = [PickleSerializer(), JsonLike()]
    assert unframe(frame(JsonLike(), ["x"]), candidates) == ["x"]
    assert unframe(frame(PickleSerializer(), ("x", b"\n")), candidates) == ("x", b"\n")
    assert unframe(frame(PickleSerializer(), b"\n\n"), reversed(candidates)) == b"\n\n"


def test_an_unknown_identifier_names_it_and_the_candidates() -> None:
    with pytest.raises(ComponentNotFoundError) as info:
        unframe(frame(JsonLike(), 1), [PickleSerializer()])
    error = info.value
    assert error.code == "PLT-112"
    assert "'test-json'" in error.message and "'pickle'" in error.message
    assert "test-json" in error.hint
    assert error.details["identifier"] == "test-json"


@pytest.mark.parametrize(
    "payload",
    [b"", b"\n", b"no header at all", b"x" * 40 + b"\n" + b"body", b"bad id\nbody", b"\x80\x05"],
    ids=["empty", "empty identifier", "no newline", "too long", "space", "raw pickle"],
)
def test_a_payload_without_a_header_is_refused(payload: bytes) -> None:
    with pytest.raises(ComponentNotFoundError, match="does not start with a serializer header"):
        unframe(payload, [PickleSerializer()])


def test_the_deserializers_error_propagates() -> None:
    with pytest.raises(pickle.UnpicklingError):
        unframe(b"pickle\nnot a pickle", [PickleSerializer()])


def test_frame_refuses_a_body_that_is_not_bytes() -> None:
    with pytest.raises(TypeError, match=r"ReturnsStr\.serialize returned str"):
        frame(ReturnsStr(), [1])


def test_can_code_declares_the_code_capability() -> None:
    class Code(JsonLike):
        identifier = b"test-code"
        can_code = True
        capabilities = frozenset({"objects"})

    assert Code.capabilities == {"code", "objects"}
    assert JsonLike.capabilities == frozenset()
    assert PickleSerializer.capabilities == {"objects"}  # can_code is False: no "code"
