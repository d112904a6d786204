"""What the kit tests (``test_<kind>_kit.py``) share: run a conformance kit on a dummy
component in-process with pytester, read the verdicts from the kit's JSON report, and
check them.

Each test module keeps what is particular to its kind: the ``dummies`` module (one
compliant component, and dummies that each break one requirement), the template of the
test module that subclasses the kit class, and its list of :class:`Broken` cases.

plait is imported inside the functions, as in the test modules: they are imported while
pytest collects, and typeguard instruments plait only when it is imported after its
import hook is installed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

SPECS = Path(__file__).resolve().parents[3] / "interface-specs"


def _names(tests: str | Iterable[str]) -> tuple[str, ...]:
    return (tests,) if isinstance(tests, str) else tuple(tests)


@attrs.frozen
class Broken:
    """A dummy that breaks ``requirement``; ``tests`` are the names (without parameters)
    of the kit tests that must catch it, one name or several; every other test of that
    requirement must pass."""

    dummy: str
    requirement: str
    tests: tuple[str, ...] = attrs.field(converter=_names)


@attrs.frozen
class KitRun:
    """The outcome of one kit run on a dummy."""

    component: str
    """The dummy's class name."""
    result: pytest.RunResult
    outcomes: dict[str, int]
    """The run's pytest outcomes (``{"passed": 11, "failed": 1}``)."""
    requirements: dict[str, Any]
    """The report's requirements of the dummy, by id."""

    def statuses(self) -> dict[str, str]:
        """Requirement id -> its status (pass, fail, skip, xfail)."""
        return {req: r["status"] for req, r in self.requirements.items()}

    def tiers(self) -> dict[str, str]:
        """Requirement id -> its tier (core, extended, integration)."""
        return {req: r["tier"] for req, r in self.requirements.items()}

    def tests(self, req: str) -> dict[str, str]:
        """The tests of requirement ``req`` (node id after the class) -> their status."""
        return {t["test"].rsplit("::", 1)[-1]: t["status"] for t in self.requirements[req]["tests"]}

    def output(self) -> str:
        """The inner run's output, for assertion messages."""
        return "\n".join(self.result.outlines[-60:])


def run_kit(
    pytester: pytest.Pytester,
    *,
    dummies: str,
    module: str,
    component: str,
    kind: str,
    spec_version: str = "0.1",
    args: Sequence[str] = (),
) -> KitRun:
    """Write ``dummies`` (as ``dummies.py``) and the test module ``module`` (as
    ``test_kit.py``) and run it with ``--plait-conformance-report`` and ``args``; check
    the report's kit version, and that dummy class ``component`` is reported as a
    ``kind`` of spec ``spec_version``."""
    from plait.conformance.base import KIT_VERSION

    pytester.makepyfile(dummies=dummies)
    pytester.syspathinsert()
    pytester.makepyfile(test_kit=module)
    report_path = pytester.path / "report.json"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--plait-conformance-report", str(report_path), *args
    )
    assert report_path.exists(), "\n".join(result.outlines[-60:])
    report = json.loads(report_path.read_text())
    assert report["kit_version"] == KIT_VERSION
    entry = report["components"][f"dummies.{component}"]
    assert entry["kind"] == kind
    assert entry["spec_version"] == spec_version
    return KitRun(component, result, result.parseoutcomes(), entry["requirements"])


def spec_ids(kind: str) -> set[str]:
    """The requirement ids the interface spec of ``kind`` defines in its requirement
    table (``| EXE-001 |``) and capability table (``| `cancel` | EXE-101 |``)."""
    text = (SPECS / f"{kind.replace('_', '-')}.md").read_text()
    ids = set(re.findall(r"^\| ([A-Z]{3}-\d{3}) \|", text, re.MULTILINE))
    ids |= set(re.findall(r"^\| `\w+` \| ([A-Z]{3}-\d{3}) \|", text, re.MULTILINE))
    return ids


def assert_cases_cover(
    kit_class: type[Any], cases: Iterable[Broken], all_ids: Collection[str]
) -> None:
    """``all_ids`` are the requirements the tests of ``kit_class`` check and the ones its
    spec defines, and every one of them has a broken dummy among ``cases``."""
    from plait.conformance.base import requirement_ids

    assert requirement_ids(kit_class) == spec_ids(kit_class.kind) == set(all_ids)
    assert {case.requirement for case in cases} == set(all_ids)


def assert_only_broken(run: KitRun, case: Broken, all_ids: Collection[str]) -> None:
    """In ``run``, requirement ``case.requirement`` fails and every other one of
    ``all_ids`` passes; of its tests, those named in ``case.tests`` fail (all
    parametrizations of one name count as that name) and the others pass."""
    expected = dict.fromkeys(all_ids, "pass")
    expected[case.requirement] = "fail"
    assert run.statuses() == expected, run.output()
    tests = run.tests(case.requirement)
    failing = {name.split("[")[0] for name, status in tests.items() if status == "fail"}
    assert failing == set(case.tests), f"failing tests of {case.requirement}: {tests}"
    others = {name: status for name, status in tests.items() if status != "fail"}
    assert set(others.values()) <= {"pass"}, f"other tests of {case.requirement}: {others}"


def assert_compliant(
    run: KitRun, all_ids: Collection[str], *, passed: int, extended: Collection[str]
) -> None:
    """In ``run``, every one of ``all_ids`` passes, in the core tier but for the
    ``extended`` ones, and the run's ``passed`` tests are all it has."""
    assert run.statuses() == dict.fromkeys(all_ids, "pass"), run.output()
    assert run.outcomes == {"passed": passed}, run.output()
    assert run.tiers() == {**dict.fromkeys(all_ids, "core"), **dict.fromkeys(extended, "extended")}


def assert_capability_skips(
    run: KitRun, all_ids: Collection[str], skipped: Mapping[str, str]
) -> None:
    """In ``run``, the requirements of ``skipped`` (id -> capability) skip with a reason
    naming the capability and the dummy, and every other one of ``all_ids`` passes."""
    expected = {**dict.fromkeys(all_ids, "pass"), **dict.fromkeys(skipped, "skip")}
    assert run.statuses() == expected, run.output()
    for req, capability in skipped.items():
        reason = run.requirements[req]["reason"]
        assert f"capability {capability!r} not declared by {run.component}" in reason, reason
