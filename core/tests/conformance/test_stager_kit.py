"""The stager kit, tested: a compliant dummy stager passes every requirement; for each
requirement a dummy that breaks exactly that requirement fails it and passes the others.

Each case runs the kit in-process with pytester and reads the verdicts from the kit's
JSON report.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

KIT_REQUIREMENTS = (
    "STG-001",
    "STG-002",
    "STG-003",
    "STG-004",
    "STG-005",
    "STG-101",
    "STG-102",
)

DUMMIES = '''
"""Dummy stagers for the kit's own tests: one compliant, the rest each broken in one way."""

import os
import shutil
import tempfile
import threading
import time

from plait import File
from plait.errors import MissingInputFileError, MissingOutputsError
from plait.interfaces import Stager


class Compliant(Stager):
    """Copies inputs into a cache directory: follows interface-specs/stager.md."""

    schemes = frozenset({"file", "kitfile"})
    capabilities = frozenset({"stage_out"})
    maturity = "beta"

    def __init__(self, cache_dir=None):
        self.cache_dir = cache_dir

    def _copy_target(self, file):
        directory = self.cache_dir or tempfile.gettempdir()
        os.makedirs(directory, exist_ok=True)
        handle, local = tempfile.mkstemp(prefix="kit-", suffix="-" + file.filename, dir=directory)
        os.close(handle)
        return local

    def stage_in(self, file):
        if not os.path.isfile(file.path):
            raise MissingInputFileError(f"input {file.url} does not exist", path=file.path)
        local = self._copy_target(file)
        shutil.copyfile(file.path, local)
        staged = File(file.url)
        staged.local_path = local
        return staged

    def stage_out(self, file):
        if not os.path.isfile(file.filepath):
            raise MissingOutputsError(f"output {file.url} was not written", missing=[file.url])
        if file.filepath != file.path:
            shutil.copyfile(file.filepath, file.path)


# --- STG-001 ---------------------------------------------------------------------------


class NoSchemes(Compliant):
    schemes = frozenset()


class UppercaseScheme(Compliant):
    schemes = frozenset({"file", "KitFile"})


class UnknownCapability(Compliant):
    capabilities = frozenset({"stage_out", "teleport"})


# --- STG-002 ---------------------------------------------------------------------------


class Unpicklable(Compliant):
    def __init__(self, cache_dir=None):
        super().__init__(cache_dir)
        self.lock = threading.Lock()


class RequiresOptions(Compliant):
    def __init__(self, cache_dir):
        super().__init__(cache_dir)


# --- STG-003 ---------------------------------------------------------------------------


class ConsumesSource(Compliant):
    """Moves the input instead of copying it: a retry finds nothing."""

    def stage_in(self, file):
        if not os.path.isfile(file.path):
            raise MissingInputFileError(f"input {file.url} does not exist", path=file.path)
        local = self._copy_target(file)
        os.replace(file.path, local)
        staged = File(file.url)
        staged.local_path = local
        return staged


# --- STG-004 ---------------------------------------------------------------------------


class RaisesFileNotFound(Compliant):
    def stage_in(self, file):
        if not os.path.isfile(file.path):
            raise FileNotFoundError(file.path)
        return super().stage_in(file)


class ErrorWithoutURL(Compliant):
    def stage_in(self, file):
        if not os.path.isfile(file.path):
            raise MissingInputFileError("an input is missing")
        return super().stage_in(file)


# --- STG-005 ---------------------------------------------------------------------------


class Racy(Compliant):
    def stage_in(self, file):
        self._current = file
        time.sleep(0.005)
        return super().stage_in(self._current)


# --- STG-101 (stage_out) ----------------------------------------------------------------


class DeletesOutputs(Compliant):
    def stage_out(self, file):
        super().stage_out(file)
        os.remove(file.path)


# --- STG-102 (stage_out) ----------------------------------------------------------------


class IgnoresMissingOutputs(Compliant):
    def stage_out(self, file):
        if os.path.isfile(file.filepath):
            super().stage_out(file)


# --- no capability -----------------------------------------------------------------------


class StageInOnly(Compliant):
    capabilities = frozenset()

    def stage_out(self, file):
        raise NotImplementedError("this stager cannot publish files")
'''

KIT_MODULE = """
import pytest

from plait.conformance.stager import StagerConformance
from dummies import {cls}


class TestDummy(StagerConformance):
    component_class = {cls}

    @pytest.fixture
    def component_kwargs(self, tmp_path):
        return {{"cache_dir": str(tmp_path / "cache")}}
"""


@attrs.frozen
class Broken:
    """A dummy that breaks ``requirement``; ``test`` is the kit test that must catch it."""

    dummy: str
    requirement: str
    test: str


BROKEN = [
    Broken("NoSchemes", "STG-001", "test_declares_schemes_capabilities_and_maturity"),
    Broken("UppercaseScheme", "STG-001", "test_declares_schemes_capabilities_and_maturity"),
    Broken("UnknownCapability", "STG-001", "test_declares_schemes_capabilities_and_maturity"),
    Broken("Unpicklable", "STG-002", "test_construction_is_cheap_and_instances_pickle"),
    Broken("RequiresOptions", "STG-002", "test_construction_is_cheap_and_instances_pickle"),
    Broken("ConsumesSource", "STG-003", "test_stage_in_returns_a_readable_local_file"),
    Broken("RaisesFileNotFound", "STG-004", "test_missing_input_raises_missing_input_file_error"),
    Broken("ErrorWithoutURL", "STG-004", "test_missing_input_raises_missing_input_file_error"),
    Broken("Racy", "STG-005", "test_one_instance_is_safe_from_many_threads"),
    Broken("DeletesOutputs", "STG-101", "test_stage_out_publishes_written_outputs"),
    Broken("IgnoresMissingOutputs", "STG-102", "test_stage_out_of_an_unwritten_output_raises"),
]


def run_kit(pytester: pytest.Pytester, cls: str) -> dict[str, Any]:
    """Run the stager kit on dummy ``cls``; its report's requirements, by id."""
    pytester.makepyfile(dummies=DUMMIES)
    pytester.syspathinsert()
    pytester.makepyfile(test_kit=KIT_MODULE.format(cls=cls))
    report_path = pytester.path / "report.json"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--plait-conformance-report", str(report_path)
    )
    report = json.loads(report_path.read_text())
    from plait.conformance.base import KIT_VERSION

    assert report["kit_version"] == KIT_VERSION
    component = report["components"][f"dummies.{cls}"]
    assert component["kind"] == "stager"
    assert component["spec_version"] == "0.1"
    requirements: dict[str, Any] = component["requirements"]
    requirements["__outcomes__"] = result.parseoutcomes()
    return requirements


def kit_requirement_ids() -> set[str]:
    """The requirement ids the stager kit's tests carry."""
    from plait.conformance.stager import StagerConformance

    ids = set()
    for name in dir(StagerConformance):
        for mark in getattr(getattr(StagerConformance, name), "pytestmark", []):
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
    assert outcomes == {"passed": 7}
    tiers = {req: r["tier"] for req, r in requirements.items()}
    assert tiers == {
        **dict.fromkeys(KIT_REQUIREMENTS, "core"),
        "STG-101": "extended",
        "STG-102": "extended",
    }


def test_stage_in_only_stagers_skip_the_stage_out_tests(pytester: pytest.Pytester) -> None:
    requirements = run_kit(pytester, "StageInOnly")
    requirements.pop("__outcomes__")
    statuses = {req: r["status"] for req, r in requirements.items()}
    assert statuses == {
        **dict.fromkeys(KIT_REQUIREMENTS, "pass"),
        "STG-101": "skip",
        "STG-102": "skip",
    }
    assert "capability 'stage_out' not declared" in requirements["STG-101"]["reason"]


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: f"{c.requirement}-{c.dummy}")
def test_broken_dummy_fails_exactly_its_requirement(
    pytester: pytest.Pytester, case: Broken
) -> None:
    requirements = run_kit(pytester, case.dummy)
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
