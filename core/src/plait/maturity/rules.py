"""The maturity levels and their rules: :data:`RULES` (what must hold at each level and
the automatic validator, if any), :func:`rules_for` and :data:`LEVEL_RULES`, and what a
validator gets (:class:`RuleContext`, :class:`Evidence`)."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib import import_module, metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import attrs

from plait.interfaces.component import MATURITY_LEVELS, Component
from plait.plugins import get_plugin_system

if TYPE_CHECKING:
    # only for RuleContext's annotation: schema imports this module (RULES, rules_for), so
    # importing it back at run time would be circular
    from plait.maturity.schema import ComponentEntry

LADDER = ("development", "alpha", "beta", "stable")
"""The levels a component climbs; each includes the rules of the ones before it."""


class Unverified(Exception):
    """A validator lacks the evidence to decide (no conformance report, no tool)."""


@attrs.frozen
class Evidence:
    """What the validators may consult besides the code: conformance reports."""

    reports: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    """Component ``module.Class`` -> its part of a conformance report."""

    def report_for(self, cls: type[Any] | None) -> dict[str, Any] | None:
        """The report of ``cls``, if any report covers it."""
        if cls is None:
            return None
        return self.reports.get(f"{cls.__module__}.{cls.__qualname__}")


@attrs.frozen
class RuleContext:
    """What a rule validator gets: the entry, its class (if registered), the evidence."""

    entry: ComponentEntry
    component: type[Component] | None
    # pathlib.Path, not Path: ComponentEntry is a type-checking-only import, so the docs
    # (Sphinx) read these hints as plain strings, and a bare Path does not resolve there
    file: pathlib.Path
    evidence: Evidence


Validator = Callable[[RuleContext], "str | None"]


@attrs.frozen
class Rule:
    """A maturity rule: what must hold and how ``plait maturity check`` verifies it."""

    id: str
    level: str
    summary: str
    checked_by: str
    """How the rule is verified; ``manual`` when there is no automatic validator."""
    validator: Validator | None = None

    @property
    def automatic(self) -> bool:
        """True when ``plait maturity check`` validates the rule itself."""
        return self.validator is not None


def _report_or_unverified(ctx: RuleContext) -> dict[str, Any]:
    report = ctx.evidence.report_for(ctx.component)
    if report is None:
        raise Unverified(
            "no conformance report covers it (pass --report PATH or --run-kit to verify)"
        )
    return report


def _failing(report: dict[str, Any], tiers: Iterable[str]) -> list[str]:
    wanted = set(tiers)
    return sorted(
        req_id
        for req_id, req in report.get("requirements", {}).items()
        if req.get("tier") in wanted and req.get("status") == "fail"
    )


def _validate_conformance_core(ctx: RuleContext) -> str | None:
    report = _report_or_unverified(ctx)
    failing = _failing(report, ["core"])
    if failing:
        return f"the kit's core tier fails requirement(s) {', '.join(failing)}"
    passed = [
        r
        for r, req in report.get("requirements", {}).items()
        if req.get("tier") == "core" and req.get("status") in ("pass", "xfail")
    ]
    if not passed:
        return "the conformance report has no passing core-tier requirement"
    return None


def _validate_conformance_extended(ctx: RuleContext) -> str | None:
    report = _report_or_unverified(ctx)
    failing = _failing(report, ["core", "extended"])
    if failing:
        return f"the kit fails requirement(s) {', '.join(failing)}"
    skipped = _declared_but_skipped(report, ctx.entry.capabilities)
    if skipped:
        return f"the report skips declared capabilities: {', '.join(skipped)} (stale report?)"
    return None


def _declared_but_skipped(report: dict[str, Any], capabilities: Iterable[str]) -> list[str]:
    out = set()
    for req in report.get("requirements", {}).values():
        if req.get("status") != "skip":
            continue
        reason = str(req.get("reason") or "")
        for cap in capabilities:
            if f"capability {cap!r} not declared" in reason:
                out.add(cap)
    return sorted(out)


_CODE_BLOCK = re.compile(r"```[^\n]*\n(.*?)```|::\n\n((?:[ \t]+.*\n|\n)+)", re.DOTALL)


def package_readme(package: str) -> tuple[str, str] | None:
    """``(where, text)`` of distribution ``package``'s README: the file in its source tree
    for an editable install, else the long description in its metadata."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    direct = dist.read_text("direct_url.json")
    if direct:
        try:
            info = json.loads(direct)
        except ValueError:
            info = {}
        url = str(info.get("url", ""))
        if url.startswith("file://"):
            source = Path(unquote(urlparse(url).path))
            for name in ("README.md", "README.rst", "README.txt", "README"):
                candidate = source / name
                if candidate.is_file():
                    return str(candidate), candidate.read_text()
    meta: Any = dist.metadata
    body = meta.get_payload() if hasattr(meta, "get_payload") else None
    text = body or meta.get("Description") or ""
    if not text.strip():
        return f"{package} metadata", ""
    return f"the long description of {package}", str(text)


def _readme_or_fail(ctx: RuleContext) -> tuple[str, str]:
    found = package_readme(ctx.entry.package)
    if found is None:
        raise _RuleFailed(f"package {ctx.entry.package} is not installed, so it has no README")
    return found


class _RuleFailed(Exception):
    pass


def _validate_readme_example(ctx: RuleContext) -> str | None:
    where, text = _readme_or_fail(ctx)
    name = re.escape(ctx.entry.name)
    patterns = [rf"""kind["']?\s*[=:]\s*["']?{name}(?![\w-])"""]
    if ctx.component is not None:
        patterns.append(rf"\b{re.escape(ctx.component.__qualname__)}\(")
    for match in _CODE_BLOCK.finditer(text):
        block = match.group(1) or match.group(2) or ""
        if any(re.search(p, block) for p in patterns):
            return None
    return (
        f"the README ({where}) has no code block configuring it "
        f'(kind = "{ctx.entry.name}"'
        + (f" or {ctx.component.__qualname__}(...)" if ctx.component else "")
        + ")"
    )


def _has_heading(text: str, word: str) -> bool:
    markdown = re.compile(rf"^#+\s.*{word}", re.IGNORECASE | re.MULTILINE)
    rest = re.compile(rf"^.*{word}.*\n[=\-~^\"'`#*+]{{3,}}\s*$", re.IGNORECASE | re.MULTILINE)
    return bool(markdown.search(text) or rest.search(text))


def _heading_validator(word: str, what: str) -> Validator:
    def validate(ctx: RuleContext) -> str | None:
        where, text = _readme_or_fail(ctx)
        if _has_heading(text, word):
            return None
        return f"the README ({where}) has no section headed {what!r}"

    return validate


def _mention_validator(word: str) -> Validator:
    def validate(ctx: RuleContext) -> str | None:
        where, text = _readme_or_fail(ctx)
        if re.search(rf"\b{word}\b", text, re.IGNORECASE):
            return None
        return f"the README ({where}) does not say the component is {word}"

    return validate


_mypy_results: dict[str, str | None] = {}


def _validate_typed_strict(ctx: RuleContext) -> str | None:
    if ctx.component is None:
        raise Unverified("the component is not registered, so its module is unknown")
    top = ctx.component.__module__.split(".")[0]
    module = sys.modules.get(top) or import_module(top)
    location = getattr(module, "__file__", None)
    folders = [Path(location).parent] if location else list(getattr(module, "__path__", []))
    if not folders:
        raise Unverified(f"package {top} has no file location")
    marker = Path(folders[0]) / "py.typed"  # a namespace package has folders but no file
    if not marker.is_file():
        return f"package {top} ships no py.typed marker ({marker})"
    if top not in _mypy_results:
        try:
            import mypy  # noqa: F401
        except ImportError:
            raise Unverified("mypy is not installed, so `mypy --strict` was not run") from None
        run = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "-p", top],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        tail = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
        _mypy_results[top] = None if run.returncode == 0 else tail
    failure = _mypy_results[top]
    return None if failure is None else f"`mypy --strict -p {top}` fails: {failure}"


def _validate_replacement(ctx: RuleContext) -> str | None:
    if not ctx.entry.replaced_by:
        return "the entry has no replaced_by naming the replacement"
    if ctx.entry.replaced_by not in get_plugin_system().registry(ctx.entry.kind):
        return (
            f"replaced_by names {ctx.entry.replaced_by!r}, which is not an installed "
            f"{ctx.entry.kind}"
        )
    return None


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "conformance-core",
            "alpha",
            "the conformance kit's core tier passes",
            "a conformance report (`--report` or `--run-kit`) shows every core "
            "requirement pass (or strict xfail) and none fail",
            _validate_conformance_core,
        ),
        Rule(
            "readme-example",
            "alpha",
            "the package README shows a configuration example naming the component",
            'a code block in the package README has `kind = "<name>"` or `<Class>(...)`',
            _validate_readme_example,
        ),
        Rule(
            "conformance-extended",
            "beta",
            "the kit's extended tier passes for every declared capability",
            "a conformance report shows no core or extended failure and no declared "
            "capability skipped",
            _validate_conformance_extended,
        ),
        Rule(
            "integration-ci",
            "beta",
            "an integration test against the real backend runs in CI",
            "manual",
        ),
        Rule(
            "limitations-documented",
            "beta",
            "the package README documents the component's limitations",
            "the package README has a section headed Limitations",
            _heading_validator("limitation", "Limitations"),
        ),
        Rule(
            "typed-strict",
            "stable",
            "the package is typed strictly",
            "`py.typed` ships in the component's package and "
            "`mypy --strict -p <package>` is clean (unverified without mypy)",
            _validate_typed_strict,
        ),
        Rule("coverage-85", "stable", "test coverage of the package is at least 85%", "manual"),
        Rule(
            "benchmark-recorded",
            "stable",
            "a benchmark of the component is recorded under `bench/`",
            "manual",
        ),
        Rule(
            "deprecation-policy",
            "stable",
            "the package states how it deprecates options and behaviour",
            "the package README has a section headed Deprecation",
            _heading_validator("deprecation", "Deprecation policy"),
        ),
        Rule(
            "replacement-named",
            "deprecated",
            "users are told what to use instead",
            "`replaced_by` names an installed component of the same kind (or exempt: none)",
            _validate_replacement,
        ),
        Rule(
            "deprecation-announced",
            "deprecated",
            "the package README says the component is deprecated",
            "the package README contains the word deprecated",
            _mention_validator("deprecated"),
        ),
        Rule(
            "unmaintained-announced",
            "unmaintained",
            "the package README says the component is unmaintained",
            "the package README contains the word unmaintained",
            _mention_validator("unmaintained"),
        ),
    )
}
"""Every rule, by id, in level order."""


def rules_for(level: str) -> tuple[str, ...]:
    """The rule ids a component at ``level`` must meet (cumulative)."""
    if level in LADDER:
        levels: Sequence[str] = LADDER[: LADDER.index(level) + 1]
    elif level == "deprecated":
        levels = ("development", "alpha", "deprecated")
    else:
        levels = (level,)
    return tuple(r.id for r in RULES.values() if r.level in levels)


LEVEL_RULES: dict[str, tuple[str, ...]] = {level: rules_for(level) for level in MATURITY_LEVELS}
"""Level -> the rule ids a component at that level must meet."""
