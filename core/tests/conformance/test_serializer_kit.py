"""The serializer kit, tested: a compliant dummy serializer passes every requirement; for
each requirement a dummy that breaks exactly that requirement fails it and passes the
others.

Each case runs the kit in-process with pytester and reads the verdicts from the kit's
JSON report.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

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
class Broken:
    """A dummy that breaks ``requirement``; ``test`` is the kit test that must catch it
    (for requirements with several tests: the others must still pass)."""

    dummy: str
    requirement: str
    test: str
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


def run_kit(
    pytester: pytest.Pytester, cls: str, kwargs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run the serializer kit on dummy ``cls``; its report's requirements, by id."""
    pytester.makepyfile(dummies=DUMMIES)
    pytester.syspathinsert()
    pytester.makepyfile(test_kit=KIT_MODULE.format(cls=cls, kwargs=kwargs or {}))
    report_path = pytester.path / "report.json"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--plait-conformance-report", str(report_path)
    )
    report = json.loads(report_path.read_text())
    from plait.conformance.base import KIT_VERSION

    assert report["kit_version"] == KIT_VERSION
    component = report["components"][f"dummies.{cls}"]
    assert component["kind"] == "serializer"
    assert component["spec_version"] == "0.1"
    requirements: dict[str, Any] = component["requirements"]
    requirements["__outcomes__"] = result.parseoutcomes()
    return requirements


def kit_requirement_ids() -> set[str]:
    """The requirement ids the serializer kit's tests carry."""
    from plait.conformance.serializer import SerializerConformance

    ids = set()
    for name in dir(SerializerConformance):
        for mark in getattr(getattr(SerializerConformance, name), "pytestmark", []):
            if mark.name == "plait_requirement":
                ids.add(mark.args[0])
    return ids


def test_the_cases_cover_every_requirement_of_the_kit() -> None:
    assert kit_requirement_ids() == set(KIT_REQUIREMENTS)
    assert {case.requirement for case in BROKEN} == set(KIT_REQUIREMENTS)


def test_compliant_dummy_passes_every_requirement(pytester: pytest.Pytester) -> None:
    requirements = run_kit(pytester, "Compliant")
    outcomes = requirements.pop("__outcomes__")
    assert {req: r["status"] for req, r in requirements.items()} == dict.fromkeys(
        KIT_REQUIREMENTS, "pass"
    )
    assert outcomes == {"passed": 12}
    tiers = {req: r["tier"] for req, r in requirements.items()}
    assert tiers == {
        **dict.fromkeys(KIT_REQUIREMENTS, "core"),
        "SER-101": "extended",
        "SER-102": "extended",
    }


def test_undeclared_capabilities_skip_with_their_name(pytester: pytest.Pytester) -> None:
    requirements = run_kit(pytester, "PlainData")
    requirements.pop("__outcomes__")
    statuses = {req: r["status"] for req, r in requirements.items()}
    assert statuses == {
        **dict.fromkeys(KIT_REQUIREMENTS, "pass"),
        "SER-101": "skip",
        "SER-102": "skip",
    }
    assert "capability 'code' not declared" in requirements["SER-101"]["reason"]
    assert "capability 'objects' not declared" in requirements["SER-102"]["reason"]


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: f"{c.requirement}-{c.dummy}")
def test_broken_dummy_fails_exactly_its_requirement(
    pytester: pytest.Pytester, case: Broken
) -> None:
    requirements = run_kit(pytester, case.dummy, case.kwargs)
    requirements.pop("__outcomes__")
    statuses = {req: r["status"] for req, r in requirements.items()}
    expected = dict.fromkeys(KIT_REQUIREMENTS, "pass")
    expected[case.requirement] = "fail"
    assert statuses == expected
    tests = {
        t["test"].rsplit("::", 1)[-1]: t["status"] for t in requirements[case.requirement]["tests"]
    }
    assert tests.pop(case.test) == "fail"
    assert set(tests.values()) <= {"pass"}, f"other tests of {case.requirement}: {tests}"
