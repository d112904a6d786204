"""Conformance tests for serializers (``interface-specs/serializer.md``)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import threading
import types
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest

from plait.conformance.base import ConformanceBase, assert_declarations, child_pids, requirement
from plait.errors import ComponentNotFoundError
from plait.interfaces import Serializer
from plait.interfaces.serializer import IDENTIFIER_RE, frame, unframe

SERIALIZER_CAPABILITIES = frozenset({"code", "objects"})
"""Capabilities ``interface-specs/serializer.md`` defines."""

LARGE = 8 * 1024 * 1024
UTC = datetime.timezone.utc
TIMEOUT = 30.0
THREADS = 8
ROUNDS = 100

COMMON_DATA: dict[str, Any] = {
    "none": None,
    "true": True,
    "false": False,
    "zero": 0,
    "int64 min": -(2**63),
    "int64 max": 2**63 - 1,
    "float": 3.141592653589793,
    "tiny float": -1e-300,
    "infinity": float("inf"),
    "minus infinity": float("-inf"),
    "empty str": "",
    "unicode str": "päralläl スクリプト 🧵 \x00\t\n",
    "empty bytes": b"",
    "bytes": bytes(range(256)),
    "empty list": [],
    "list": [1, "two", 3.0, None, False],
    "empty dict": {},
    "dict": {"a": 1, "": "empty key", "ü": [b"x"]},
    "nested": {"tasks": [{"id": i, "args": [i, str(i)], "ok": i % 2 == 0} for i in range(50)]},
}
"""SER-004: what every serializer with ``can_data`` carries."""


@dataclasses.dataclass(frozen=True)
class KitPoint:
    """An importable dataclass (SER-102)."""

    x: int
    y: tuple[int, ...]


class KitRecord:
    """An importable plain class with a ``__dict__`` (SER-102)."""

    def __init__(self, name: str, values: list[int]) -> None:
        self.name = name
        self.values = values

    def __eq__(self, other: object) -> bool:
        return type(other) is KitRecord and other.name == self.name and other.values == self.values

    def __hash__(self) -> int:
        return hash(self.name)


def python_objects() -> dict[str, Any]:
    """SER-102: Python objects beyond the common data types."""
    return {
        "tuple": (1, (2, "three"), ()),
        "set": {1, 2, 3},
        "frozenset": frozenset({"a", "b"}),
        "complex": 1.5 - 2j,
        "big int": 2**200,
        "big negative int": -(2**100) - 7,
        "dict with other keys": {(1, 2): "tuple", 3: "int", None: "none", 2.5: "float"},
        "bytearray": bytearray(b"\x00mutable"),
        "datetime": datetime.datetime(
            2024, 2, 29, 12, 30, 15, 123456, tzinfo=datetime.timezone.utc
        ),
        "date": datetime.date(1999, 12, 31),
        "decimal": decimal.Decimal("1.10"),
        "range": range(1, 10, 3),
        "dataclass": KitPoint(1, (2, 3)),
        "object": KitRecord("kit", [1, 2]),
        "exception": ValueError("kit value error", 42),
    }


class KitJsonSerializer(Serializer):
    """A second serializer with another wire format, for the foreign-payload and
    framing tests. Its identifier is reserved for the kit."""

    identifier = b"plait-kit-json"
    maturity = "development"

    def serialize(self, obj: Any) -> bytes:
        return json.dumps(obj).encode()

    def deserialize(self, payload: bytes) -> Any:
        return json.loads(payload)


def mismatch(expected: Any, actual: Any, where: str = "") -> str | None:
    """Where ``actual`` differs from ``expected`` in value or type, or None."""
    if type(actual) is not type(expected):
        return f"{where or 'value'}: {type(expected).__name__} came back as {type(actual).__name__}"
    if isinstance(expected, BaseException):
        if expected.args != actual.args:
            return f"{where or 'value'}: args {expected.args!r} came back as {actual.args!r}"
        return None
    if isinstance(expected, (list, tuple)):
        if len(expected) != len(actual):
            return f"{where or 'value'}: length {len(expected)} came back as {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            found = mismatch(e, a, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(expected, dict):
        if list(expected) != list(actual):
            return f"{where or 'value'}: keys {list(expected)!r} came back as {list(actual)!r}"
        for key in expected:
            found = mismatch(expected[key], actual[key], f"{where}[{key!r}]")
            if found:
                return found
        return None
    if expected != actual:
        return f"{where or 'value'}: {_short(expected)} came back as {_short(actual)}"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _make_closure(factor: int) -> Callable[[int], int]:
    offset = factor + 1

    def scaled(x: int) -> int:
        return x * factor + offset

    return scaled


_UNIMPORTABLE_SOURCE = '''
SCALE = 3

def helper(x):
    return x + SCALE

def triple_plus(x):
    """A function of a module no worker can import."""
    return helper(x) * SCALE
'''


def _unimportable_function() -> Callable[[int], int]:
    module = types.ModuleType(f"plait_kit_unimportable_{uuid.uuid4().hex}")
    exec(compile(_UNIMPORTABLE_SOURCE, module.__name__, "exec"), module.__dict__)
    func: Callable[[int], int] = module.triple_plus
    return func


def code_samples() -> dict[str, Callable[[int], int]]:
    """SER-101: functions only a serializer with the ``code`` capability carries."""
    return {
        "lambda": lambda x: x * 2 + 1,
        "closure": _make_closure(5),
        "function of an unimportable module": _unimportable_function(),
    }


def round_trip_problems(serializer: Serializer, values: dict[str, Any]) -> list[str]:
    """``"name: what differs"`` for each value that does not survive a round trip."""
    problems = []
    for name, value in values.items():
        try:
            found = mismatch(value, serializer.deserialize(serializer.serialize(value)))
        except Exception as exc:
            found = f"raised {type(exc).__name__}: {exc}"
        if found:
            problems.append(f"{name}: {found}")
    return problems


class SerializerConformance(ConformanceBase):
    """The serializer kit. Set ``component_class``; override ``component_kwargs`` for
    the options of a configured instance (SER-009 compares it with a default one)."""

    kind: ClassVar[str] = "serializer"
    spec_version: ClassVar[str] = "0.1"
    timeout: ClassVar[float] = TIMEOUT

    @pytest.fixture
    def serializer(self, component_kwargs: dict[str, Any]) -> Serializer:
        """A configured instance of the serializer under test."""
        instance = self.make(component_kwargs)
        assert isinstance(instance, Serializer)
        return instance

    def sample(self, key: int = 0) -> Any:
        """An object the component claims to carry: data unless it carries only code."""
        if self.component_class.can_data:
            return {"kit": key, "values": list(range(key % 50)), "text": f"sample {key}"}
        return lambda x, key=key: x + key

    def check_same(self, expected: Any, actual: Any) -> None:
        """Assert a round trip gave ``expected`` back (functions: by calling them)."""
        if callable(expected) and not self.component_class.can_data:
            assert callable(actual), f"a function came back as {type(actual).__name__}"
            assert actual(7) == expected(7)
        else:
            found = mismatch(expected, actual)
            assert found is None, found

    # --- core tier ---------------------------------------------------------------

    @requirement("SER-001")
    def test_identifier_is_short_ascii_without_newline(self, serializer: Serializer) -> None:
        identifier = self.component_class.identifier
        assert type(identifier) is bytes, f"identifier is {type(identifier).__name__}, not bytes"
        assert IDENTIFIER_RE.fullmatch(identifier), (
            f"identifier {identifier!r} must be 1 to 32 ASCII letters, digits, '.', '_', '-'"
        )
        assert serializer.identifier == identifier, "the instance changed its identifier"

    @requirement("SER-002")
    def test_identifier_is_unique(self) -> None:
        from plait.plugins import registry

        identifier = self.component_class.identifier
        assert not identifier.startswith(b"plait-kit"), "identifiers plait-kit* are reserved"
        clashes = [
            f"{name!r} ({cls.__module__}.{cls.__qualname__})"
            for name, cls in registry("serializer").items()
            if cls is not self.component_class and getattr(cls, "identifier", None) == identifier
        ]
        assert not clashes, f"identifier {identifier!r} is also used by {', '.join(clashes)}"

    @requirement("SER-003")
    def test_declares_what_it_carries(self) -> None:
        cls = self.component_class
        assert_declarations(cls, Serializer, SERIALIZER_CAPABILITIES, "serializer")
        assert type(cls.can_code) is bool and type(cls.can_data) is bool, (
            "can_code and can_data must be bool"
        )
        assert cls.can_code or cls.can_data, "a serializer must carry code or data"
        assert ("code" in cls.capabilities) == cls.can_code, (
            f"capability 'code' must be declared exactly when can_code is true "
            f"(can_code={cls.can_code}, capabilities={sorted(cls.capabilities)})"
        )

    @requirement("SER-004")
    def test_common_data_round_trips(self, serializer: Serializer) -> None:
        if not self.component_class.can_data:
            pytest.skip("can_data is False: the serializer carries only code")
        problems = round_trip_problems(serializer, COMMON_DATA)
        everything = dict(COMMON_DATA)
        found = mismatch(everything, serializer.deserialize(serializer.serialize(everything)))
        if found:
            problems.append(f"all samples in one dict: {found}")
        assert not problems, "round trip failed:\n" + "\n".join(problems)

    @requirement("SER-004")
    def test_large_bytes_round_trip(self, serializer: Serializer) -> None:
        if not self.component_class.can_data:
            pytest.skip("can_data is False: the serializer carries only code")
        blob = bytes(range(256)) * (LARGE // 256)
        back = serializer.deserialize(serializer.serialize({"blob": blob}))
        assert type(back) is dict and type(back.get("blob")) is bytes
        assert back["blob"] == blob, "8 MiB of bytes came back different"

    @requirement("SER-005")
    def test_raises_for_what_it_cannot_carry(self, serializer: Serializer) -> None:
        generator = (i for i in range(3))
        for obj in (generator, [1, generator]):
            try:
                payload = serializer.serialize(obj)
            except Exception:
                continue
            pytest.fail(
                f"serialize() returned {len(payload)} bytes for {_short(obj)} instead of raising"
            )
        obj = self.sample(1)
        self.check_same(obj, serializer.deserialize(serializer.serialize(obj)))

    @requirement("SER-006")
    def test_raises_for_bytes_it_did_not_produce(self, serializer: Serializer) -> None:
        own = serializer.serialize(
            self.sample(1)
            if not self.component_class.can_data
            else {"k": list(range(2000)), "s": "x" * 1000}
        )
        foreign = {
            "empty bytes": b"",
            "truncated payload": own[: len(own) // 2],
            "JSON body": KitJsonSerializer().serialize({"plait-kit": [1, 2, 3]}),
            "text": b"this is not a payload\n",
        }
        decoded = []
        for name, payload in foreign.items():
            try:
                value = serializer.deserialize(payload)
            except Exception:
                continue
            decoded.append(f"{name} {payload[:40]!r} decoded to {_short(value)}")
        assert not decoded, "deserialize() accepted bytes it did not produce:\n" + "\n".join(
            decoded
        )

    @requirement("SER-007")
    def test_bodies_are_bytes_and_survive_framing(self, serializer: Serializer) -> None:
        other = KitJsonSerializer()
        # an identifier SER-001 refuses cannot be framed: that is SER-001's failure
        framable = IDENTIFIER_RE.fullmatch(self.component_class.identifier) is not None
        for key in range(3):
            obj = self.sample(key)
            body = serializer.serialize(obj)
            assert type(body) is bytes, f"serialize() returned {type(body).__name__}, not bytes"
            if framable:
                payload = frame(serializer, obj)
                assert payload.startswith(self.component_class.identifier + b"\n")
                self.check_same(obj, unframe(payload, [other, serializer]))
                self.check_same(obj, unframe(payload, [serializer, other]))
        with pytest.raises(ComponentNotFoundError, match="plait-kit-json"):
            unframe(frame(other, [1, 2, 3]), [serializer])

    @requirement("SER-008")
    def test_one_instance_is_safe_from_many_threads(self, serializer: Serializer) -> None:
        barrier = threading.Barrier(THREADS)

        def work(thread: int) -> list[str]:
            barrier.wait(timeout=self.timeout)
            problems = []
            for i in range(ROUNDS):
                key = thread * ROUNDS + i
                obj = self.sample(key)
                try:
                    self.check_same(obj, serializer.deserialize(serializer.serialize(obj)))
                except Exception as exc:  # AssertionError included
                    problems.append(f"thread {thread}, round {i}: {type(exc).__name__}: {exc}")
            return problems

        with ThreadPoolExecutor(THREADS, thread_name_prefix="plait-kit-ser") as pool:
            results = list(pool.map(work, range(THREADS)))
        problems = [p for result in results for p in result]
        assert not problems, (
            f"{len(problems)} of {THREADS * ROUNDS} concurrent round trips failed, first: "
            + "; ".join(problems[:3])
        )

    @requirement("SER-009")
    def test_default_instance_decodes_a_configured_one(self, serializer: Serializer) -> None:
        threads, pids = set(threading.enumerate()), child_pids()
        try:
            default = self.component_class()
        except TypeError as exc:
            pytest.fail(f"{self.component_class.__qualname__}() without arguments: {exc}")
        assert set(threading.enumerate()) == threads, "construction started threads"
        assert child_pids() == pids, "construction started processes"
        for key in range(3):
            obj = self.sample(key)
            self.check_same(obj, default.deserialize(serializer.serialize(obj)))

    # --- extended tier -------------------------------------------------------------

    @requirement("SER-101", capability="code")
    def test_functions_round_trip_by_value(self, serializer: Serializer) -> None:
        problems = []
        for name, func in code_samples().items():
            try:
                back = serializer.deserialize(serializer.serialize(func))
                if not callable(back):
                    problems.append(f"{name}: came back as {type(back).__name__}")
                elif [back(x) for x in range(5)] != [func(x) for x in range(5)]:
                    problems.append(f"{name}: gives other results after the round trip")
            except Exception as exc:
                problems.append(f"{name}: {type(exc).__name__}: {exc}")
        assert not problems, "functions did not round-trip:\n" + "\n".join(problems)

    @requirement("SER-102", capability="objects")
    def test_python_objects_round_trip(self, serializer: Serializer) -> None:
        problems = round_trip_problems(serializer, python_objects())
        assert not problems, "round trip failed:\n" + "\n".join(problems)
