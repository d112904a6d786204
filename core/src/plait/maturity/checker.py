"""The checker behind ``plait maturity check``: :func:`check_maturity` validates
``maturity.yaml`` against the installed code and the evidence into a
:class:`CheckResult`."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs

from plait.errors import (
    ComponentListingError,
    ConformanceReportError,
    MaturityLevelIncompleteError,
    MaturityMismatchError,
    MaturityRuleError,
    PlaitError,
    PluginError,
)
from plait.interfaces.component import MATURITY_LEVELS, Component
from plait.maturity.evidence import merge_reports, read_conformance_report, run_conformance_kit
from plait.maturity.rules import (
    RULES,
    Evidence,
    RuleContext,
    Unverified,
    _declared_but_skipped,
    _failing,
    _RuleFailed,
    rules_for,
)
from plait.maturity.schema import (
    DEFAULT_FILE,
    ComponentEntry,
    MaturityFile,
    _display,
    normalize_dist,
    read_maturity_file,
)
from plait.plugins import ENTRY_POINT_GROUP, PluginSystem, get_plugin_system
from plait.registry import KIND_BASES


@attrs.frozen
class Registered:
    """A first-party component found in the registries."""

    kind: str
    name: str
    cls: type[Component]
    distribution: str


@attrs.define
class CheckResult:
    """What ``plait maturity check`` found."""

    file: Path
    checked: int = 0
    problems: list[PlaitError] = attrs.field(factory=list)
    blocks: list[tuple[str, str]] = attrs.field(factory=list)
    """``(heading, YAML)`` paste-ready blocks for missing rules and entries."""
    notes: list[str] = attrs.field(factory=list)
    """Things that could not be verified (no evidence), for information."""

    @property
    def ok(self) -> bool:
        """True when there is no problem."""
        return not self.problems

    def render(self) -> str:
        """The human-readable report the CLI prints."""
        shown = _display(self.file)
        out = [str(p) + "\n" for p in self.problems]
        if self.blocks:
            out.append(f"Paste into {shown}:\n")
            for heading, block in self.blocks:
                out.append(f"# {heading}\n{block}")
        if self.notes:
            out.append("Not verified:")
            out.extend(f"  - {note}" for note in self.notes)
            out.append("")
        verdict = (
            f"{shown}: {self.checked} component(s) checked, no problems"
            if self.ok
            else f"{shown}: {len(self.problems)} problem(s) in {self.checked} component(s)"
        )
        out.append(verdict)
        return "\n".join(out)


def registered_components(
    system: PluginSystem, packages: set[str]
) -> dict[tuple[str, str], Registered]:
    """Components registered by plugins of the (normalized) distributions ``packages``."""
    modules = [(info.module.split(":")[0], info.distribution) for info in system.plugins.values()]
    found: dict[tuple[str, str], Registered] = {}
    for kind in KIND_BASES:
        reg = system.registry(kind)
        for name, cls in reg.items():
            origin = reg.origins.get(name, "?")
            dist = next((d for m, d in modules if origin == m or origin.startswith(m + ".")), "?")
            if normalize_dist(dist) in packages:
                found[(kind, name)] = Registered(kind, name, cls, dist)
    return found


def _entry_skeleton(comp: Registered) -> str:
    caps = ", ".join(sorted(comp.cls.capabilities))
    rules = "".join(
        f"      {r}: todo  # {RULES[r].summary}\n" for r in rules_for(comp.cls.maturity)
    )
    return (
        f"  - name: {comp.name}\n"
        f"    kind: {comp.kind}\n"
        f"    package: {comp.distribution}\n"
        f"    level: {comp.cls.maturity}\n"
        f'    since: "{_version_of(comp.distribution)}"\n'
        f"    owners: [TODO]\n"
        f'    interface: {{spec: {comp.kind.replace("_", "-")}, version: "TODO"}}\n'
        f"    capabilities: [{caps}]\n" + (f"    rules:\n{rules}" if rules else "    rules: {}\n")
    )


def _version_of(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _spec_version(root: Path, spec: str) -> str | None:
    file = root / "interface-specs" / f"{spec}.md"
    if not file.is_file():
        return None
    match = re.search(r"^Spec version:\W*([0-9][0-9.]*)", file.read_text(), re.MULTILINE)
    return match.group(1).rstrip(".") if match else None


def _check_entry_points(parsed: MaturityFile, result: CheckResult) -> None:
    shown = _display(parsed.path)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else "?"
        if normalize_dist(dist_name) not in parsed.packages:
            continue
        try:
            ep.load()
        except Exception as exc:
            listed = [
                e.label
                for e in parsed.components
                if normalize_dist(e.package) == normalize_dist(dist_name)
            ]
            result.problems.append(
                PluginError(
                    f"{shown}: the entry point {ep.name} = {ep.value} of {dist_name} "
                    f"(listed: {', '.join(listed)}) fails to import: {type(exc).__name__}: {exc}",
                    hint=f"fix the import error, or reinstall {dist_name}",
                )
            )


def check_maturity(
    path: str | os.PathLike[str] = DEFAULT_FILE,
    *,
    reports: Sequence[str | os.PathLike[str]] = (),
    run_kit: bool = False,
    system: PluginSystem | None = None,
) -> CheckResult:
    """Validate ``maturity.yaml`` against the installed code and the evidence.

    Checks the schema; that first-party entry points load; that every component
    registered by a package the file names is listed and every listed one is
    registered; that each class's ``maturity`` and ``capabilities`` equal the entry's;
    that the interface version matches the spec file and the conformance reports;
    that the reports (``reports`` files, or a kit run per component with ``run_kit``)
    show no failure; that every rule marked ``done`` passes its validator; and that the
    rules of each claimed level are all met. Collects every problem instead of stopping.
    """
    parsed, problems = read_maturity_file(path)
    result = CheckResult(parsed.path, checked=len(parsed.components), problems=problems)
    if not parsed.components and not parsed.invalid:
        return result
    shown = _display(parsed.path)
    root = parsed.path.resolve().parent

    _check_entry_points(parsed, result)
    if system is None:
        try:
            system = get_plugin_system()
        except PlaitError as exc:
            result.problems.append(exc)
            return result
    registered = registered_components(system, parsed.packages)

    # listed <-> registered
    for key, found in sorted(registered.items()):
        if parsed.entry(*key) is None and key not in parsed.invalid:
            result.problems.append(
                ComponentListingError(
                    f"{shown}: the {found.kind} {found.name!r} ({found.cls.__module__}."
                    f"{found.cls.__qualname__}) is registered by {found.distribution} but not "
                    "listed",
                    hint=f"add the entry shown below to {shown} (fill in the TODOs), or stop "
                    "registering the component",
                )
            )
            result.blocks.append(
                (
                    f"a new entry under `components:` for {found.kind} {found.name!r}",
                    _entry_skeleton(found),
                )
            )
    for entry in parsed.components:
        if (entry.kind, entry.name) not in registered:
            result.problems.append(
                ComponentListingError(
                    f"{shown}: components[{entry.index}] ({entry.label}) is listed but no "
                    f"installed plugin of {entry.package} registers it",
                    hint=f"install {entry.package} (pip install -e its directory), fix the "
                    f"entry's name/kind/package, or remove the entry; check "
                    "PLAIT_LOAD_PLUGINS/PLAIT_DISABLE_PLUGINS",
                )
            )

    # evidence
    loaded: list[dict[str, Any]] = []
    for report_file in reports:
        try:
            loaded.append(read_conformance_report(report_file))
        except PlaitError as exc:
            result.problems.append(exc)
    if run_kit:
        targets = [(e.kind, e.name) for e in parsed.components if (e.kind, e.name) in registered]
        with tempfile.TemporaryDirectory(prefix="plait-maturity-kit-") as tmp:
            kit_report, failures = run_conformance_kit(targets, tmp)
        loaded.append(kit_report)
        for failure in failures:
            result.problems.append(
                ConformanceReportError(
                    f"{shown}: --run-kit: {failure}",
                    hint="add the missing kit, or pass a report for these components with --report",
                )
            )
    evidence = Evidence(merge_reports(loaded))

    for entry in parsed.components:
        comp = registered.get((entry.kind, entry.name))
        cls = comp.cls if comp is not None else None
        where = f"{shown}: components[{entry.index}] ({entry.label})"
        if comp is not None:
            _compare_with_class(entry, comp, where, result)
        spec_version = _spec_version(root, entry.interface.spec)
        if spec_version is not None and spec_version != entry.interface.version:
            result.problems.append(
                MaturityMismatchError(
                    f"{where}: interface version {entry.interface.version!r} but "
                    f"interface-specs/{entry.interface.spec}.md is version {spec_version}",
                    hint=f"set interface: {{spec: {entry.interface.spec}, version: "
                    f'"{spec_version}"}} once the component implements that version',
                )
            )
        report = evidence.report_for(cls)
        if report is not None:
            _check_report(entry, report, where, result)
        _check_rules(entry, RuleContext(entry, cls, parsed.path, evidence), where, result)
    return result


def _compare_with_class(
    entry: ComponentEntry, comp: Registered, where: str, result: CheckResult
) -> None:
    qual = f"{comp.cls.__module__}.{comp.cls.__qualname__}"
    if comp.cls.maturity != entry.level:
        result.problems.append(
            MaturityMismatchError(
                f"{where}: level {entry.level!r} in the file, but {qual}.maturity is "
                f"{comp.cls.maturity!r}",
                hint=f"make them agree: set maturity = {entry.level!r} on the class, or "
                f"level: {comp.cls.maturity} in the file",
            )
        )
    declared = set(comp.cls.capabilities)
    listed = set(entry.capabilities)
    if declared != listed:
        diff = []
        if listed - declared:
            diff.append(f"only in the file: {', '.join(sorted(listed - declared))}")
        if declared - listed:
            diff.append(f"only on the class: {', '.join(sorted(declared - listed))}")
        result.problems.append(
            MaturityMismatchError(
                f"{where}: capabilities {sorted(listed)} in the file, but {qual}.capabilities "
                f"is {sorted(declared)} ({'; '.join(diff)})",
                hint=f"set capabilities: [{', '.join(sorted(declared))}] in the file, or "
                "change the class's capabilities (and pass the kit's tests for them)",
            )
        )
    if normalize_dist(comp.distribution) != normalize_dist(entry.package):
        result.problems.append(
            MaturityMismatchError(
                f"{where}: package {entry.package!r} in the file, but it is registered by "
                f"{comp.distribution}",
                hint=f"set package: {comp.distribution}",
            )
        )


def _check_report(
    entry: ComponentEntry, report: dict[str, Any], where: str, result: CheckResult
) -> None:
    failing = _failing(report, ["core", "extended", "integration"])
    if failing:
        details = []
        for req_id in failing:
            req = report["requirements"][req_id]
            tests = [t.get("test", "?") for t in req.get("tests", []) if t.get("status") == "fail"]
            details.append(f"{req_id} ({req.get('tier')}: {', '.join(tests) or 'failed'})")
        result.problems.append(
            ConformanceReportError(
                f"{where}: the conformance report shows failures: {'; '.join(details)}",
                hint="fix the component until the kit passes, or drop the capability "
                "whose tests fail from the class and the file",
            )
        )
    skipped = _declared_but_skipped(report, entry.capabilities)
    if skipped:
        result.problems.append(
            ConformanceReportError(
                f"{where}: the conformance report skips declared capabilities {', '.join(skipped)}",
                hint="rerun the kit against the current class (the report is stale)",
            )
        )
    version = report.get("spec_version")
    if version is not None and str(version) != entry.interface.version:
        result.problems.append(
            MaturityMismatchError(
                f"{where}: interface version {entry.interface.version!r} in the file, but the "
                f"conformance kit checked spec version {version}",
                hint=f'set interface version "{version}" in the file, or run the kit '
                "that matches the claimed version",
            )
        )


def _check_rules(entry: ComponentEntry, ctx: RuleContext, where: str, result: CheckResult) -> None:
    if entry.level not in MATURITY_LEVELS:
        return
    for rule_id, status in entry.rules.items():
        rule = RULES[rule_id]
        if status.state != "done":
            continue
        if rule.validator is None:
            result.notes.append(f"{entry.label}: {rule_id} is a manual rule ({rule.summary})")
            continue
        try:
            failure = rule.validator(ctx)
        except Unverified as exc:
            result.notes.append(f"{entry.label}: {rule_id}: {exc}")
            continue
        except _RuleFailed as exc:
            failure = str(exc)
        if failure is not None:
            result.problems.append(
                MaturityRuleError(
                    f"{where}: rule {rule_id!r} is marked done but {failure}",
                    hint=f"make it hold ({rule.summary}), or set `{rule_id}: todo`",
                )
            )
    missing = entry.missing_rules()
    if missing:
        absent = [r for r in missing if r not in entry.rules]
        todo = [r for r in missing if r in entry.rules]
        parts = []
        if absent:
            parts.append(f"missing {', '.join(absent)}")
        if todo:
            parts.append(f"still todo {', '.join(todo)}")
        hint = (
            "add the rules shown below, then make each done (or exempt with a comment); "
            if absent
            else "make them hold and mark them done (or exempt with a comment); "
        )
        result.problems.append(
            MaturityLevelIncompleteError(
                f"{where}: claims level {entry.level!r}, whose rules are not all met: "
                f"{'; '.join(parts)}",
                hint=hint + "or claim a lower level",
            )
        )
        if absent:
            lines = "".join(f"      {r}: todo  # {RULES[r].summary}\n" for r in absent)
            result.blocks.append(
                (
                    f"under `rules:` of {entry.label} (components[{entry.index}]); then make "
                    "each done, or {status: exempt, comment: why}",
                    "    rules:\n" + lines,
                )
            )
