"""The kit's pytest plugin (``pytest_plait``): capability skips, the integration tier,
the override guard and the JSON report, each run in-process with pytester."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

GUARD = (
    "an override must be decorated with @pytest.mark.xfail(strict=True, reason='...') "
    "and give the reason"
)

HEADER = """
import pytest

from plait.conformance import requirement
from plait.conformance.executor import ExecutorConformance
from plait_threads import ThreadPoolExecutor


class NoCaps(ThreadPoolExecutor):
    capabilities = frozenset()


class Cancel(ThreadPoolExecutor):
    capabilities = frozenset({"cancel"})
"""


def run(
    pytester: pytest.Pytester, body: str, *args: str
) -> tuple[pytest.RunResult, dict[str, Any]]:
    """Run a kit test module (``HEADER`` + ``body``); the result and the JSON report."""
    pytester.makepyfile(test_kit=HEADER + textwrap.dedent(body))
    report_path = pytester.path / "report.json"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-rA", "--plait-conformance-report", str(report_path), *args
    )
    return result, json.loads(report_path.read_text())


def requirements(report: dict[str, Any], component: str) -> dict[str, Any]:
    reqs: dict[str, Any] = report["components"][f"test_kit.{component}"]["requirements"]
    return reqs


def test_undeclared_capability_skips_with_a_reason_naming_it(pytester: pytest.Pytester) -> None:
    result, report = run(
        pytester,
        """
        class TestNoCaps(ExecutorConformance):
            component_class = NoCaps
        """,
    )
    result.assert_outcomes(passed=11, skipped=3)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED *capability 'cancel' not declared by NoCaps",
            "SKIPPED *capability 'resource_spec' not declared by NoCaps",
            "SKIPPED *capability 'scaling' not declared by NoCaps",
        ]
    )
    reqs = requirements(report, "NoCaps")
    skipped = (("EXE-101", "cancel"), ("EXE-102", "resource_spec"), ("EXE-103", "scaling"))
    for req_id, capability in skipped:
        assert reqs[req_id]["status"] == "skip"
        assert reqs[req_id]["tier"] == "extended"
        assert reqs[req_id]["reason"] == f"capability {capability!r} not declared by NoCaps"


def test_declared_capability_runs_its_tests(pytester: pytest.Pytester) -> None:
    result, report = run(
        pytester,
        """
        class TestCancel(ExecutorConformance):
            component_class = Cancel
        """,
        "-k",
        "stops_tasks or resource_keys",
    )
    result.assert_outcomes(passed=1, skipped=1, deselected=12)
    reqs = requirements(report, "Cancel")
    assert reqs["EXE-101"]["status"] == "pass"
    assert reqs["EXE-102"]["status"] == "skip"
    assert set(reqs) == {"EXE-101", "EXE-102"}, "deselected tests are not reported"


INTEGRATION_IN_SUBCLASS = """
class TestIntegration(ExecutorConformance):
    component_class = Cancel

    @requirement("EXE-901", integration=True)
    def test_real_backend(self, executor):
        assert executor.label
"""

INTEGRATION_IN_KIT = """
class IntegrationKit(ExecutorConformance):
    # looks like a kit class to the plugin: its tests are guarded kit tests
    __module__ = "plait.conformance.integration_kit"

    @requirement("EXE-901", integration=True)
    def test_real_backend(self, executor):
        pass


class TestIntegration(IntegrationKit):
    component_class = Cancel
"""


@pytest.mark.parametrize(
    "body", [INTEGRATION_IN_SUBCLASS, INTEGRATION_IN_KIT], ids=["subclass", "kit"]
)
def test_integration_tier_is_opt_in(pytester: pytest.Pytester, body: str) -> None:
    result, report = run(pytester, body, "-k", "real_backend")
    result.assert_outcomes(skipped=1, deselected=14)
    result.stdout.fnmatch_lines(["SKIPPED *integration tier: run with --plait-integration"])
    (req,) = requirements(report, "Cancel").values()
    assert req["tier"] == "integration"
    assert req["status"] == "skip"
    assert req["reason"] == "integration tier: run with --plait-integration"

    result, report = run(pytester, body, "-k", "real_backend", "--plait-integration")
    result.assert_outcomes(passed=1, deselected=14)
    assert requirements(report, "Cancel")["EXE-901"] == {
        "status": "pass",
        "tier": "integration",
        "tests": [
            {
                "test": "test_kit.py::TestIntegration::test_real_backend",
                "status": "pass",
                "reason": None,
            }
        ],
    }


@pytest.mark.parametrize(
    "decorator",
    [
        "",
        "@pytest.mark.xfail(reason='not strict')",
        "@pytest.mark.xfail(strict=True)",
        "@pytest.mark.xfail(strict=True, reason='  ')",
        "@pytest.mark.skip(reason='skipping is not overriding')",
        "@pytest.mark.skipif(True, reason='neither is skipif')",
    ],
    ids=["plain", "non-strict-xfail", "no-reason", "blank-reason", "skip", "skipif"],
)
def test_override_without_strict_xfail_and_reason_fails(
    pytester: pytest.Pytester, decorator: str
) -> None:
    result, report = run(
        pytester,
        f"""
        class TestOverride(ExecutorConformance):
            component_class = Cancel

            {decorator}
            def test_has_a_label(self, component_kwargs):
                pass
        """,
        "-k",
        "label or capabilities",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [f"*TestOverride.test_has_a_label overrides the kit test for EXE-005; {GUARD}*"]
    )
    reqs = requirements(report, "Cancel")
    assert reqs["EXE-005"]["status"] == "fail"
    assert reqs["EXE-005"]["tests"] == [
        {"test": "test_kit.py::TestOverride::test_has_a_label", "status": "fail", "reason": None}
    ]
    assert reqs["EXE-006"]["status"] == "pass", "tests not overridden are unaffected"


def test_override_with_strict_xfail_and_reason_is_reported_as_xfail(
    pytester: pytest.Pytester,
) -> None:
    result, report = run(
        pytester,
        """
        class TestOverride(ExecutorConformance):
            component_class = Cancel

            @pytest.mark.xfail(strict=True, reason="labels are assigned by the site")
            def test_has_a_label(self, component_kwargs):
                assert False
        """,
        "-k",
        "label",
    )
    result.assert_outcomes(xfailed=1, deselected=13)
    reqs = requirements(report, "Cancel")
    assert reqs["EXE-005"]["status"] == "xfail"
    assert reqs["EXE-005"]["reason"] == "labels are assigned by the site"
    assert reqs["EXE-005"]["tests"][0]["status"] == "xfail"


def test_strict_xfail_override_that_passes_fails(pytester: pytest.Pytester) -> None:
    result, report = run(
        pytester,
        """
        class TestOverride(ExecutorConformance):
            component_class = Cancel

            @pytest.mark.xfail(strict=True, reason="expected to fail, but does not")
            def test_has_a_label(self, component_kwargs):
                pass
        """,
        "-k",
        "label",
    )
    result.assert_outcomes(failed=1, deselected=13)
    assert requirements(report, "Cancel")["EXE-005"]["status"] == "fail"


def test_missing_component_class_fails(pytester: pytest.Pytester) -> None:
    result, report = run(
        pytester,
        """
        class TestNothing(ExecutorConformance):
            pass
        """,
        "-k",
        "label",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*TestNothing does not set component_class*"])
    assert report["components"]["?"]["requirements"]["EXE-005"]["status"] == "fail"


def test_report_layout(pytester: pytest.Pytester) -> None:
    from plait.conformance.base import KIT_VERSION

    result, report = run(
        pytester,
        """
        class TestCancel(ExecutorConformance):
            component_class = Cancel

        class TestNoCaps(ExecutorConformance):
            component_class = NoCaps

            @pytest.fixture
            def component_kwargs(self):
                return {"label": "kit", "max_threads": 2}

            @pytest.mark.xfail(strict=True, reason="a documented limitation")
            def test_many_concurrent_tasks(self, executor):
                raise NotImplementedError
        """,
    )
    result.assert_outcomes(passed=22, skipped=5, xfailed=1)
    assert set(report) == {"kit_version", "components"}
    assert report["kit_version"] == KIT_VERSION
    assert set(report["components"]) == {"test_kit.Cancel", "test_kit.NoCaps"}
    ids = [f"EXE-00{n}" for n in range(1, 9)] + ["EXE-101", "EXE-102", "EXE-103"]
    for component in report["components"].values():
        assert set(component) == {"kind", "spec_version", "requirements"}
        assert component["kind"] == "executor"
        assert component["spec_version"] == "0.1"
        assert sorted(component["requirements"]) == ids
        for req_id, req in component["requirements"].items():
            assert req["tier"] == ("extended" if req_id.startswith("EXE-1") else "core")
            assert req["tests"], req_id
            for test in req["tests"]:
                assert set(test) == {"test", "status", "reason"}
                assert test["test"].startswith("test_kit.py::Test")
    no_caps = requirements(report, "NoCaps")
    # a requirement's status is its worst test: xfail outranks pass
    assert no_caps["EXE-003"]["status"] == "xfail"
    assert no_caps["EXE-003"]["reason"] == "a documented limitation"
    assert sorted(t["status"] for t in no_caps["EXE-003"]["tests"]) == [
        "pass",
        "pass",
        "pass",
        "xfail",
    ]
    assert requirements(report, "Cancel")["EXE-003"]["status"] == "pass"


def test_plugin_adds_no_autouse_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        def test_only_request(request):
            assert request.fixturenames == ["request"]
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_plait_integration_marker_is_opt_in(pytester: pytest.Pytester) -> None:
    """A plugin's own test that needs the real backend runs only with the flag."""
    pytester.makepyfile(
        test_backend="""
import pytest

@pytest.mark.plait_integration
def test_needs_scheduler():
    pass

def test_plain():
    pass
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED *integration tier: run with --plait-integration"])
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--plait-integration")
    result.assert_outcomes(passed=2)
