"""The plait conformance kit's pytest plugin (entry point ``pytest11: plait-conformance``).

It adds ``--plait-conformance-report PATH`` (write a JSON report: per component, per
requirement id, pass / skip / xfail / fail, with kit and spec versions) and
``--plait-integration`` (run the ``integration`` tier, and the tests marked
``plait_integration``: tests of a plugin that need its real backend). It skips tests of capabilities
a component does not declare, and fails a kit test a subclass overrides unless the
override is a strict ``xfail`` with a reason. It has no autouse fixtures and imports
nothing from plait until pytest has configured its plugins (so typeguard can
instrument plait).
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_RECORDS = pytest.StashKey[dict[str, dict[str, Any]]]()
_VIOLATION = "plait_override_violation"
_STATUS_ORDER = ("fail", "xfail", "pass", "skip")
_SKIP_INTEGRATION = "integration tier: run with --plait-integration"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("plait-conformance", "plait conformance kit")
    group.addoption(
        "--plait-conformance-report",
        metavar="PATH",
        default=None,
        help="write a JSON report of requirement ids and their outcomes to PATH",
    )
    group.addoption(
        "--plait-integration",
        action="store_true",
        default=False,
        help="also run the kit's integration tier (needs the real backend)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "plait_requirement(id, capability=None, tier='core'): the interface-spec "
        "requirement a conformance kit test checks",
    )
    config.addinivalue_line(
        "markers",
        "plait_integration: needs the real backend; runs only with --plait-integration",
    )
    config.addinivalue_line("markers", f"{_VIOLATION}(message): kit test overridden wrongly")
    config.stash[_RECORDS] = {}
    config.pluginmanager.register(_Recorder(config), "plait-conformance-recorder")


def _kit_function(cls: type[Any], name: str) -> Any:
    """The kit's own definition of test ``name`` (from a plait.conformance class)."""
    for klass in cls.__mro__:
        if klass.__module__.startswith("plait.conformance") and name in vars(klass):
            return vars(klass)[name]
    return None


def _requirement_mark(func: Any) -> pytest.Mark | None:
    """The ``plait_requirement`` mark a kit function carries."""
    for mark in getattr(func, "pytestmark", []):
        if mark.name == "plait_requirement":
            return mark  # type: ignore[no-any-return]
    return None


def _strict_xfail_reason(func: Any) -> str | None:
    for mark in getattr(func, "pytestmark", []):
        if mark.name == "xfail" and mark.kwargs.get("strict") is True:
            reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
            if isinstance(reason, str) and reason.strip():
                return reason
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from plait.conformance.base import ConformanceBase

    records = config.stash[_RECORDS]
    integration = config.getoption("--plait-integration")
    for item in items:
        if not integration and item.get_closest_marker("plait_integration") is not None:
            item.add_marker(pytest.mark.skip(reason=_SKIP_INTEGRATION))
        cls = getattr(item, "cls", None)
        if cls is None or not issubclass(cls, ConformanceBase):
            continue
        name = getattr(item, "originalname", item.name)
        kit = _kit_function(cls, name)
        # An override does not inherit the kit function's marks: take the requirement
        # from the kit's own definition, so an override is still recorded and guarded.
        mark = _requirement_mark(kit) if kit is not None else None
        if mark is None:
            mark = item.get_closest_marker("plait_requirement")
        if mark is None:
            continue
        component = getattr(cls, "component_class", None)
        capability = mark.kwargs.get("capability")
        tier = mark.kwargs.get("tier", "core")
        records[item.nodeid] = {
            "requirement": mark.args[0],
            "tier": tier,
            "kind": cls.kind,
            "spec_version": cls.spec_version,
            "component": (f"{component.__module__}.{component.__qualname__}" if component else "?"),
        }
        if component is None:
            item.add_marker(
                pytest.mark.plait_override_violation(f"{cls.__name__} does not set component_class")
            )
            continue
        actual = getattr(cls, name, None)
        if kit is not None and actual is not kit and _strict_xfail_reason(actual) is None:
            item.add_marker(
                pytest.mark.plait_override_violation(
                    f"{cls.__name__}.{name} overrides the kit test for {mark.args[0]}; "
                    "an override must be decorated with "
                    "@pytest.mark.xfail(strict=True, reason='...') and give the reason"
                )
            )
        elif capability and capability not in getattr(component, "capabilities", ()):
            item.add_marker(
                pytest.mark.skip(
                    reason=f"capability {capability!r} not declared by {component.__qualname__}"
                )
            )
        elif tier == "integration" and not integration:
            item.add_marker(pytest.mark.skip(reason=_SKIP_INTEGRATION))


def pytest_runtest_setup(item: pytest.Item) -> None:
    mark = item.get_closest_marker(_VIOLATION)
    if mark is not None:
        pytest.fail(mark.args[0], pytrace=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A guard violation is a failure even when the override carries a ``skip`` or a
    non-strict ``xfail`` mark (which would otherwise turn it into a skip or an xfail)."""
    report = yield
    mark = item.get_closest_marker(_VIOLATION)
    if mark is not None and call.when == "setup":
        report.outcome = "failed"
        report.longrepr = mark.args[0]
        if hasattr(report, "wasxfail"):
            del report.wasxfail
    return report


class _Recorder:
    """Collects each kit test's outcome and writes the report at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = self.config.stash[_RECORDS].get(report.nodeid)
        if record is None:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if hasattr(report, "wasxfail"):
                record["status"] = "xfail" if report.skipped else "fail"
                record["reason"] = report.wasxfail
            elif report.skipped:
                record["status"] = "skip"
                longrepr = report.longrepr
                reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
                record["reason"] = reason.removeprefix("Skipped: ")
            else:
                record["status"] = "pass" if report.passed else "fail"
        elif report.when == "teardown" and report.failed:
            record["status"] = "fail"

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        path = self.config.getoption("--plait-conformance-report")
        if not path:
            return
        report = build_report(self.config.stash[_RECORDS])
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


def build_report(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Fold per-test records into per-component, per-requirement outcomes."""
    from plait.conformance.base import KIT_VERSION

    components: dict[str, dict[str, Any]] = {}
    for nodeid, rec in sorted(records.items()):
        status = rec.get("status")
        if status is None:  # deselected or never run
            continue
        comp = components.setdefault(
            rec["component"],
            {"kind": rec["kind"], "spec_version": rec["spec_version"], "requirements": {}},
        )
        req = comp["requirements"].setdefault(
            rec["requirement"], {"status": None, "tier": rec["tier"], "tests": []}
        )
        req["tests"].append({"test": nodeid, "status": status, "reason": rec.get("reason")})
        if req["status"] is None or _STATUS_ORDER.index(status) < _STATUS_ORDER.index(
            req["status"]
        ):
            req["status"] = status
            if rec.get("reason"):
                req["reason"] = rec["reason"]
    return {"kit_version": KIT_VERSION, "components": components}
