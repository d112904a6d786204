"""The serializer kit, tested: a compliant dummy serializer passes every requirement; for
each requirement a dummy that breaks exactly that requirement fails it and passes the
others.

Each case runs the kit in-process with pytester and reads the verdicts from the kit's
JSON report.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from . import kitrun

KIT_REQUIREMENTS = (
    "SER-001",
    "SER-002",
    "SER-003",
    "SER-004",
    "SER-005",
    "SER-006",
    "SER-007",
    "SER-008",
    "SER-009",
    "SER-101",
    "SER-102",
)

DUMMIES = '''
"""Dummy serializers for the kit's own tests: one compliant, the rest each broken in one way."""

import builtins
import marshal
import pickle
import sys
import time
import types
import zlib

from plait.interfaces import Serializer


def _importable(func):
    target = sys.modules.get(func.__module__)
    for part in func.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is func


def _global_names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _make_function(code, name, defaults, cells, global_values):
    namespace = {"__builtins__": builtins, **global_values}
    closure = None if cells is None else tuple(types.CellType(v) for v in cells)
    return types.FunctionType(marshal.loads(code), namespace, name, defaults, closure)


class _Pickler(pickle.Pickler):
    """Pickles functions no receiver could import by value (code, cells, globals)."""

    def reducer_override(self, obj):
        if isinstance(obj, types.FunctionType) and not _importable(obj):
            used = _global_names(obj.__code__)
            global_values = {k: v for k, v in obj.__globals__.items() if k in used}
            cells = None
            if obj.__closure__ is not None:
                cells = [cell.cell_contents for cell in obj.__closure__]
            code = marshal.dumps(obj.__code__)
            return _make_function, (code, obj.__name__, obj.__defaults__, cells, global_values)
        return NotImplemented


def _dumps(obj):
    import io

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=5).dump(obj)
    return buffer.getvalue()


class Compliant(Serializer):
    """Pickle, plus functions by value: follows interface-specs/serializer.md."""

    identifier = b"kit-dummy"
    can_code = True
    can_data = True
    capabilities = frozenset({"objects"})  # "code" is added from can_code
    maturity = "beta"

    def serialize(self, obj):
        return _dumps(obj)

    def deserialize(self, payload):
        return pickle.loads(payload)


class PlainData(Serializer):
    """Plain pickle, declaring no capability."""

    identifier = b"kit-plain"
    maturity = "alpha"

    def serialize(self, obj):
        return pickle.dumps(obj, protocol=5)

    def deserialize(self, payload):
        return pickle.loads(payload)


# --- SER-001 ---------------------------------------------------------------------------


class SpaceInIdentifier(Compliant):
    identifier = b"kit dummy"


class LongIdentifier(Compliant):
    identifier = b"kit-dummy-" + b"x" * 40


# --- SER-002 ---------------------------------------------------------------------------


class DuplicateIdentifier(Compliant):
    identifier = b"pickle"


# --- SER-003 ---------------------------------------------------------------------------


class UnknownCapability(Compliant):
    capabilities = frozenset({"code", "objects", "turbo"})


class CodeWithoutFlag(Compliant):
    can_code = False
    capabilities = frozenset({"code", "objects"})


# --- SER-004 ---------------------------------------------------------------------------


def _round_floats(obj):
    if isinstance(obj, float):
        return round(obj, 3)
    if isinstance(obj, list):
        return [_round_floats(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _round_floats(v) for k, v in obj.items()}
    return obj


class RoundsFloats(Compliant):
    def serialize(self, obj):
        return super().serialize(_round_floats(obj))


class TruncatesLargeBytes(Compliant):
    def serialize(self, obj):
        if isinstance(obj, dict) and isinstance(obj.get("blob"), bytes):
            obj = {**obj, "blob": obj["blob"][: 1024 * 1024]}
        return super().serialize(obj)


# --- SER-005 ---------------------------------------------------------------------------


class NeverRaises(Compliant):
    def serialize(self, obj):
        try:
            return super().serialize(obj)
        except Exception:
            return super().serialize(repr(obj))


# --- SER-006 ---------------------------------------------------------------------------


class AcceptsAnything(Compliant):
    def deserialize(self, payload):
        try:
            return super().deserialize(payload)
        except Exception:
            return None


# --- SER-007 ---------------------------------------------------------------------------


class ReturnsBytearray(Compliant):
    def serialize(self, obj):
        return bytearray(super().serialize(obj))


# --- SER-008 ---------------------------------------------------------------------------


class Racy(Compliant):
    _pending = None

    def serialize(self, obj):
        self._pending = obj
        time.sleep(0.0005)
        return super().serialize(self._pending)


# --- SER-009 ---------------------------------------------------------------------------


class NeedsItsOptions(Compliant):
    def __init__(self, compress=False):
        self.compress = compress

    def serialize(self, obj):
        body = super().serialize(obj)
        return zlib.compress(body) if self.compress else body

    def deserialize(self, payload):
        return super().deserialize(zlib.decompress(payload) if self.compress else payload)


# --- SER-101 (code) --------------------------------------------------------------------


class FunctionsByReferenceOnly(Compliant):
    def serialize(self, obj):
        return pickle.dumps(obj, protocol=5)


# --- SER-102 (objects) -----------------------------------------------------------------


def _tuples_to_lists(obj):
    if isinstance(obj, (list, tuple)):
        return [_tuples_to_lists(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _tuples_to_lists(v) for k, v in obj.items()}
    return obj


class TuplesBecomeLists(Compliant):
    def serialize(self, obj):
        return super().serialize(_tuples_to_lists(obj))
'''

KIT_MODULE = """
import pytest

from plait.conformance.serializer import SerializerConformance
from dummies import {cls}


class TestDummy(SerializerConformance):
    component_class = {cls}

    @pytest.fixture
    def component_kwargs(self):
        return {kwargs!r}
"""


@attrs.frozen
class Broken(kitrun.Broken):
    """A broken case whose dummy is constructed with ``kwargs``."""

    kwargs: dict[str, Any] = attrs.field(factory=dict)


BROKEN = [
    Broken("SpaceInIdentifier", "SER-001", "test_identifier_is_short_ascii_without_newline"),
    Broken("LongIdentifier", "SER-001", "test_identifier_is_short_ascii_without_newline"),
    Broken("DuplicateIdentifier", "SER-002", "test_identifier_is_unique"),
    Broken("UnknownCapability", "SER-003", "test_declares_what_it_carries"),
    Broken("CodeWithoutFlag", "SER-003", "test_declares_what_it_carries"),
    Broken("RoundsFloats", "SER-004", "test_common_data_round_trips"),
    Broken("TruncatesLargeBytes", "SER-004", "test_large_bytes_round_trip"),
    Broken("NeverRaises", "SER-005", "test_raises_for_what_it_cannot_carry"),
    Broken("AcceptsAnything", "SER-006", "test_raises_for_bytes_it_did_not_produce"),
    Broken("ReturnsBytearray", "SER-007", "test_bodies_are_bytes_and_survive_framing"),
    Broken("Racy", "SER-008", "test_one_instance_is_safe_from_many_threads"),
    Broken(
        "NeedsItsOptions",
        "SER-009",
        "test_default_instance_decodes_a_configured_one",
        {"compress": True},
    ),
    Broken("FunctionsByReferenceOnly", "SER-101", "test_functions_round_trip_by_value"),
    Broken("TuplesBecomeLists", "SER-102", "test_python_objects_round_trip"),
]


def run_dummy(
    pytester: pytest.Pytester, cls: str, kwargs: dict[str, Any] | None = None
) -> kitrun.KitRun:
    """Run the serializer kit on dummy ``cls``, constructed with ``kwargs``."""
    module = KIT_MODULE.format(cls=cls, kwargs=kwargs or {})
    return kitrun.run_kit(
        pytester, dummies=DUMMIES, module=module, component=cls, kind="serializer"
    )


def test_the_cases_cover_every_requirement_of_the_kit() -> None:
    from plait.conformance.serializer import SerializerConformance

    kitrun.assert_cases_cover(SerializerConformance, BROKEN, KIT_REQUIREMENTS)


def test_compliant_dummy_passes_every_requirement(pytester: pytest.Pytester) -> None:
    run = run_dummy(pytester, "Compliant")
    kitrun.assert_compliant(run, KIT_REQUIREMENTS, passed=12, extended=("SER-101", "SER-102"))


def test_undeclared_capabilities_skip_with_their_name(pytester: pytest.Pytester) -> None:
    run = run_dummy(pytester, "PlainData")
    kitrun.assert_capability_skips(run, KIT_REQUIREMENTS, {"SER-101": "code", "SER-102": "objects"})


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: f"{c.requirement}-{c.dummy}")
def test_broken_dummy_fails_exactly_its_requirement(
    pytester: pytest.Pytester, case: Broken
) -> None:
    kitrun.assert_only_broken(run_dummy(pytester, case.dummy, case.kwargs), case, KIT_REQUIREMENTS)
