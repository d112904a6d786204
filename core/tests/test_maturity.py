"""maturity.yaml, `plait maturity check` / `table`, and the run-time maturity gate."""

from __future__ import annotations

import copy
import json
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[2]
REAL_FILE = ROOT / "maturity.yaml"
GENERATED_TABLE = ROOT / "docs" / "_generated" / "components.inc"
THREADS_KEY = "plait_threads.executor.ThreadPoolExecutor"

Edit = Callable[[list[dict[str, Any]]], None]


def real_entries() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = yaml.safe_load(REAL_FILE.read_text())["components"]
    return entries


def entry(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(e for e in entries if e["name"] == name)


@pytest.fixture
def variant(tmp_path: Path) -> Callable[[Edit], Path]:
    """``variant(edit)``: a copy of the repository's maturity.yaml changed by ``edit``."""

    def make(edit: Edit) -> Path:
        entries = copy.deepcopy(real_entries())
        edit(entries)
        path = tmp_path / "maturity.yaml"
        path.write_text(yaml.safe_dump({"components": entries}, sort_keys=False))
        return path

    return make


def run_check(path: Path, *args: str) -> Result:
    from plait.cli.maturity import maturity

    return CliRunner().invoke(maturity, ["check", "--file", str(path), *args])


def codes(path: Path, **kwargs: Any) -> list[str]:
    from plait.maturity import check_maturity

    return [p.code for p in check_maturity(path, **kwargs).problems]


def write_report(path: Path, requirements: dict[str, dict[str, Any]]) -> Path:
    for req in requirements.values():
        req.setdefault("tests", [{"test": "test_kit.py::TestX::test_it", "status": req["status"]}])
    report = {
        "kit_version": "0.1.0",
        "components": {
            THREADS_KEY: {"kind": "executor", "spec_version": "0.1", "requirements": requirements}
        },
    }
    path.write_text(json.dumps(report))
    return path


# --- the schema -----------------------------------------------------------------------


def test_real_file_parses() -> None:
    from plait.maturity import load_maturity_file

    parsed = load_maturity_file(REAL_FILE)
    assert {(e.kind, e.name) for e in parsed.components} >= {
        ("executor", "threads"),
        ("serializer", "pickle"),
        ("stager", "local-file"),
        ("error_reporter", "console"),
    }
    threads = parsed.entry("executor", "threads")
    assert threads is not None and threads.package == "plait-threads"
    assert threads.rules["conformance-core"].state == "done"


def test_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "maturity.yaml"
    path.write_text("components:\n  - name: threads\n    kind: [executor\n")
    result = run_check(path)
    assert result.exit_code == 1
    assert "[PLT-500]" in result.output
    assert "maturity.yaml is not valid YAML" in result.output
    assert "line 4" in result.output


def test_not_a_component_list(tmp_path: Path) -> None:
    from plait.errors import MaturityFileError
    from plait.maturity import load_maturity_file

    path = tmp_path / "maturity.yaml"
    path.write_text("threads: alpha\n")
    with pytest.raises(MaturityFileError, match="'components' list") as info:
        load_maturity_file(path)
    assert str(path.name) in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    result = run_check(tmp_path / "nope.yaml")
    assert result.exit_code == 1
    assert "[PLT-500]" in result.output and "nope.yaml does not exist" in result.output
    assert "--file" in result.output


def test_unknown_level(variant: Callable[[Edit], Path]) -> None:
    from plait.errors import UnknownMaturityLevelError
    from plait.maturity import load_maturity_file

    path = variant(lambda es: entry(es, "threads").update(level="alpah"))
    with pytest.raises(UnknownMaturityLevelError) as info:
        load_maturity_file(path)
    error = info.value
    assert error.code == "PLT-501"
    assert "maturity.yaml: components[0] (name 'threads')" in error.message
    assert "field 'level': 'alpah' is not a maturity level" in error.message
    assert "did you mean 'alpha'?" in error.hint
    assert "stable" in error.hint


def test_missing_field(variant: Callable[[Edit], Path]) -> None:
    path = variant(lambda es: entry(es, "pickle").pop("since"))
    result = run_check(path)
    assert result.exit_code == 1
    assert "[PLT-500]" in result.output
    assert "components[1] (name 'pickle'): field 'since': required field missing" in result.output
    # an invalid entry is not reported again as "registered but not listed"
    assert "PLT-504" not in result.output


def test_wrong_types_and_unknown_fields(variant: Callable[[Edit], Path]) -> None:
    from plait.maturity import read_maturity_file

    def edit(es: list[dict[str, Any]]) -> None:
        threads = entry(es, "threads")
        threads["since"] = 0.1
        threads["capabilites"] = threads.pop("capabilities")
        threads["owners"] = "plait-core"

    _, problems = read_maturity_file(variant(edit))
    messages = [p.message for p in problems]
    assert any("field 'since': expected a string, got float 0.1" in m for m in messages)
    assert any("unknown field 'capabilites' (did you mean 'capabilities'?)" in m for m in messages)
    assert any("field 'capabilities': required field missing" in m for m in messages)
    assert any("field 'owners': expected a list" in m for m in messages)
    assert all("components[0] (name 'threads')" in m for m in messages)


def test_unknown_rule_status(variant: Callable[[Edit], Path]) -> None:
    from plait.maturity import read_maturity_file

    def edit(es: list[dict[str, Any]]) -> None:
        entry(es, "threads")["rules"]["readme-example"] = "finished"
        entry(es, "console")["rules"]["readme-example"] = {"status": "exempt"}
        entry(es, "pickle")["rules"]["readme-example"] = {"status": "skipped", "comment": "x"}

    _, problems = read_maturity_file(variant(edit))
    assert [p.code for p in problems] == ["PLT-500"] * 3
    by_name = {p.message.split("(name ")[1].split(")")[0]: p.message for p in problems}
    assert "rule 'readme-example': unknown rule status 'finished'" in by_name["'threads'"]
    assert "use done, todo or {status: exempt, comment: why}" in by_name["'threads'"]
    assert "an exempt rule needs a non-empty comment" in by_name["'console'"]
    assert "unknown rule status 'skipped'" in by_name["'pickle'"]


def test_unknown_rule_and_kind(variant: Callable[[Edit], Path]) -> None:
    from plait.maturity import read_maturity_file

    def edit(es: list[dict[str, Any]]) -> None:
        entry(es, "threads")["rules"]["readme-exmaple"] = "todo"
        entry(es, "console")["kind"] = "error-reporter"

    _, problems = read_maturity_file(variant(edit))
    rule = next(p for p in problems if "readme-exmaple" in p.message)
    assert rule.code == "PLT-500" and "did you mean 'readme-example'?" in rule.hint
    kind = next(p for p in problems if "field 'kind'" in p.message)
    assert "did you mean 'error_reporter'?" in kind.hint


# --- the checker ------------------------------------------------------------------------


def test_check_passes_on_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    from plait.cli.maturity import maturity

    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(maturity, ["check"])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        f"maturity.yaml: {len(real_entries())} component(s) checked, no problems\n"
    )
    # without evidence the conformance rules are listed as not verified
    assert "executor 'threads': conformance-core: no conformance report covers it" in (
        result.output
    )


def test_done_rule_whose_validator_fails(variant: Callable[[Edit], Path]) -> None:
    # plait-threads' README documents what it does not support, but has no Limitations
    # section, and the core's README has no configuration naming the pickle serializer
    def edit(es: list[dict[str, Any]]) -> None:
        entry(es, "threads")["rules"]["limitations-documented"] = "done"
        entry(es, "pickle")["rules"]["readme-example"] = "done"

    path = variant(edit)
    result = run_check(path)
    assert result.exit_code == 1
    out = result.output
    assert out.count("[PLT-502]") == 2
    assert (
        "components[0] (executor 'threads'): rule 'limitations-documented' is marked done "
        "but the README (" in out
    )
    assert "has no section headed 'Limitations'" in out
    assert "set `limitations-documented: todo`" in out
    assert "components[1] (serializer 'pickle'): rule 'readme-example' is marked done" in out
    assert 'kind = "pickle"' in out


def test_capabilities_mismatch(variant: Callable[[Edit], Path]) -> None:
    path = variant(lambda es: entry(es, "threads").update(capabilities=["cancel", "mpi"]))
    result = run_check(path)
    assert result.exit_code == 1
    assert "[PLT-503]" in result.output
    assert (
        "components[0] (executor 'threads'): capabilities ['cancel', 'mpi'] in the file, but "
        "plait_threads.executor.ThreadPoolExecutor.capabilities is ['cancel'] "
        "(only in the file: mpi)"
    ) in result.output
    assert "set capabilities: [cancel] in the file" in result.output


def test_level_mismatch(variant: Callable[[Edit], Path]) -> None:
    path = variant(lambda es: entry(es, "threads").update(level="beta"))
    result = run_check(path)
    assert result.exit_code == 1
    assert (
        "level 'beta' in the file, but plait_threads.executor.ThreadPoolExecutor.maturity "
        "is 'alpha'"
    ) in result.output
    # and beta's own rules are not met
    assert "[PLT-507]" in result.output and "still todo limitations-documented" in result.output


def test_registered_component_not_listed(variant: Callable[[Edit], Path]) -> None:
    path = variant(lambda es: es.remove(entry(es, "console")))
    result = run_check(path)
    assert result.exit_code == 1
    assert "[PLT-504]" in result.output
    assert (
        "the error_reporter 'console' (plait.builtins.console_reporter.ConsoleErrorReporter) "
        "is registered by plait but not listed"
    ) in result.output
    block = result.output.split("for error_reporter 'console'\n")[1].split("\n\n")[0]
    pasted = yaml.safe_load(block)
    assert pasted[0]["name"] == "console" and pasted[0]["kind"] == "error_reporter"
    assert pasted[0]["level"] == "alpha"
    assert pasted[0]["rules"] == {"conformance-core": "todo", "readme-example": "todo"}


def test_listed_component_not_registered(variant: Callable[[Edit], Path]) -> None:
    def edit(es: list[dict[str, Any]]) -> None:
        ghost = copy.deepcopy(entry(es, "threads"))
        ghost["name"] = "ghost"
        es.append(ghost)

    result = run_check(variant(edit))
    assert result.exit_code == 1
    assert (
        f"components[{len(real_entries())}] (executor 'ghost') is listed but no installed "
        "plugin of plait-threads registers it"
    ) in result.output
    assert "remove the entry" in result.output


def test_missing_rules_are_printed_as_a_block(variant: Callable[[Edit], Path]) -> None:
    path = variant(lambda es: entry(es, "threads")["rules"].pop("readme-example"))
    result = run_check(path)
    assert result.exit_code == 1
    assert "[PLT-507]" in result.output
    assert "claims level 'alpha', whose rules are not all met: missing readme-example" in (
        result.output
    )
    assert "Paste into " in result.output
    block = result.output.split("or {status: exempt, comment: why}\n")[1].split("\n\n")[0]
    assert yaml.safe_load(textwrap.dedent(block)) == {"rules": {"readme-example": "todo"}}


def test_conformance_report_failure(variant: Callable[[Edit], Path], tmp_path: Path) -> None:
    report = write_report(
        tmp_path / "report.json",
        {
            "EXE-001": {"status": "fail", "tier": "core"},
            "EXE-101": {"status": "pass", "tier": "extended"},
        },
    )
    result = run_check(variant(lambda es: None), "--report", str(report))
    assert result.exit_code == 1
    assert "[PLT-506]" in result.output
    assert "the conformance report shows failures: EXE-001 (core: test_kit.py::" in result.output
    assert "rule 'conformance-core' is marked done but the kit's core tier fails" in (result.output)


def test_conformance_report_clean(variant: Callable[[Edit], Path], tmp_path: Path) -> None:
    from plait.maturity import check_maturity

    report = write_report(
        tmp_path / "report.json",
        {
            "EXE-001": {"status": "pass", "tier": "core"},
            "EXE-101": {"status": "pass", "tier": "extended"},
            "EXE-102": {
                "status": "skip",
                "tier": "extended",
                "reason": "capability 'resource_spec' not declared by ThreadPoolExecutor",
            },
        },
    )
    result = check_maturity(variant(lambda es: None), reports=[report])
    assert result.ok, result.render()
    assert not any("threads" in note and "conformance" in note for note in result.notes)


def test_conformance_report_skipping_a_declared_capability(
    variant: Callable[[Edit], Path], tmp_path: Path
) -> None:
    report = write_report(
        tmp_path / "report.json",
        {
            "EXE-001": {"status": "pass", "tier": "core"},
            "EXE-101": {
                "status": "skip",
                "tier": "extended",
                "reason": "capability 'cancel' not declared by ThreadPoolExecutor",
            },
        },
    )
    result = run_check(variant(lambda es: None), "--report", str(report))
    assert result.exit_code == 1
    assert "the conformance report skips declared capabilities cancel" in result.output


def test_unreadable_report(variant: Callable[[Edit], Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run_check(variant(lambda es: None), "--report", str(bad))
    assert result.exit_code == 1
    assert "[PLT-506]" in result.output and "bad.json is not JSON" in result.output


def test_entry_point_that_fails_to_import(
    variant: Callable[[Edit], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from plait.maturity import check_maturity
    from plait.plugins import get_plugin_system

    system = get_plugin_system()  # loaded before the broken distribution appears
    site = tmp_path / "site"
    (site / "plait_broken").mkdir(parents=True)
    (site / "plait_broken" / "__init__.py").write_text("raise ImportError('no backend')\n")
    info = site / "plait_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plait-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[plait.plugins]\nbroken = plait_broken\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()

    def edit(es: list[dict[str, Any]]) -> None:
        broken = copy.deepcopy(entry(es, "threads"))
        broken.update(name="broken", package="plait-broken")
        es.append(broken)

    result = check_maturity(variant(edit), system=system)
    messages = [str(p) for p in result.problems]
    assert any(
        "[PLT-120]" in m
        and "the entry point broken = plait_broken of plait-broken (listed: executor 'broken') "
        "fails to import: ImportError: no backend"
        in m
        for m in messages
    ), messages
    assert any("[PLT-504]" in m and "(executor 'broken') is listed" in m for m in messages)
    monkeypatch.delitem(__import__("sys").modules, "plait_broken", raising=False)


def test_run_conformance_kit(tmp_path: Path) -> None:
    from plait.maturity import run_conformance_kit

    report, problems = run_conformance_kit(
        [("executor", "threads"), ("launcher", "no-such-launcher")], tmp_path
    )
    assert len(problems) == 1
    assert problems[0].startswith(
        "plait conformance no-such-launcher --kind launcher produced no report: "
        "no installed launcher is named 'no-such-launcher'"
    )
    requirements = report["components"][THREADS_KEY]["requirements"]
    assert requirements["EXE-001"]["status"] == "pass"
    assert requirements["EXE-102"]["status"] == "skip"


# --- rules and the docs table ----------------------------------------------------------


def test_levels_are_cumulative() -> None:
    from plait.maturity import LEVEL_RULES, RULES

    assert LEVEL_RULES["development"] == ()
    assert set(LEVEL_RULES["alpha"]) == {"conformance-core", "readme-example"}
    assert set(LEVEL_RULES["alpha"]) < set(LEVEL_RULES["beta"]) < set(LEVEL_RULES["stable"])
    assert {"typed-strict", "coverage-85", "benchmark-recorded", "deprecation-policy"} <= set(
        LEVEL_RULES["stable"]
    )
    assert set(LEVEL_RULES["alpha"]) < set(LEVEL_RULES["deprecated"])
    assert "replacement-named" in LEVEL_RULES["deprecated"]
    manual = {r.id for r in RULES.values() if not r.automatic}
    assert manual == {"integration-ci", "coverage-85", "benchmark-recorded"}


def test_rule_validators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    import attrs

    from plait.maturity import RULES, Evidence, RuleContext, Unverified, load_maturity_file
    from plait_threads import ThreadPoolExecutor

    def validate(rule_id: str, ctx: RuleContext) -> str | None:
        validator = RULES[rule_id].validator
        assert validator is not None
        return validator(ctx)

    threads = load_maturity_file(REAL_FILE).entry("executor", "threads")
    assert threads is not None
    ctx = RuleContext(threads, ThreadPoolExecutor, REAL_FILE, Evidence())
    assert validate("readme-example", ctx) is None
    assert "does not say the component is deprecated" in str(validate("deprecation-announced", ctx))
    assert "no section headed 'Deprecation policy'" in str(validate("deprecation-policy", ctx))
    assert "has no replaced_by" in str(validate("replacement-named", ctx))
    replaced = attrs.evolve(ctx, entry=attrs.evolve(threads, replaced_by="threads"))
    assert validate("replacement-named", replaced) is None
    with pytest.raises(Unverified, match="--run-kit"):
        validate("conformance-core", ctx)

    class Local(ThreadPoolExecutor):
        pass

    # in a module of its own with no py.typed next to it (not this test module, whose name
    # depends on pytest's import mode)
    untyped = types.ModuleType("plait_untyped_example")
    untyped.__file__ = str(tmp_path / "plait_untyped_example.py")
    monkeypatch.setitem(sys.modules, "plait_untyped_example", untyped)
    Local.__module__ = "plait_untyped_example"
    local = attrs.evolve(ctx, component=Local)
    assert "ships no py.typed marker" in str(validate("typed-strict", local))


def test_docs_table_is_current() -> None:
    from plait.maturity import load_maturity_file, render_table

    expected = render_table(load_maturity_file(REAL_FILE))
    assert GENERATED_TABLE.read_text() == expected, (
        "docs/_generated/components.inc is stale: run "
        "`plait maturity table > docs/_generated/components.inc` from the repository root"
    )


def test_table_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from plait.cli.maturity import maturity

    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(maturity, ["table"])
    assert result.exit_code == 0
    assert result.output == GENERATED_TABLE.read_text()
    assert "   * - executor\n     - ``threads``\n     - ``plait-threads``\n     - alpha" in (
        result.output
    )


# --- the run-time gate ------------------------------------------------------------------


@pytest.fixture
def dev_executor() -> Iterator[type[Any]]:
    """An executor registered as ``maturity-dev`` at maturity level development."""
    import plait
    from plait.plugins import get_plugin_system, reset_plugin_system
    from plait_threads import ThreadPoolExecutor

    class DevThreads(ThreadPoolExecutor):
        maturity = "development"

    class Plugin:
        @plait.hookimpl
        def plait_register_executors(self, registry: Any) -> None:
            registry.add("maturity-dev", DevThreads)

    reset_plugin_system()
    get_plugin_system().pm.register(Plugin(), name="test-maturity-dev")
    try:
        yield DevThreads
    finally:
        reset_plugin_system()


def test_development_component_refused(
    dev_executor: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import plait
    from plait.errors import DevelopmentComponentError

    monkeypatch.delenv("PLAIT_ENABLE_DEVELOPMENT", raising=False)
    with pytest.raises(DevelopmentComponentError) as info:
        plait.Config(executors=[{"kind": "maturity-dev"}])
    error = info.value
    assert error.code == "PLT-505"
    assert "the executor 'maturity-dev'" in error.message
    assert "maturity level 'development'" in error.message
    assert "Config(enable_development=['maturity-dev'])" in error.hint
    assert "PLAIT_ENABLE_DEVELOPMENT=maturity-dev" in error.hint
    with pytest.raises(DevelopmentComponentError):
        plait.Config(executors=[dev_executor()])  # an instance given directly


def test_development_component_enabled_by_config(
    dev_executor: type[Any], load: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import plait

    monkeypatch.delenv("PLAIT_ENABLE_DEVELOPMENT", raising=False)
    cfg = plait.Config(executors=[{"kind": "maturity-dev"}], enable_development=["maturity-dev"])
    assert isinstance(cfg.executors[0], dev_executor)

    @plait.python_app
    def triple(x: int) -> int:
        return 3 * x

    load(executors=[dev_executor(label="dev")], enable_development="maturity-dev")
    assert triple(2).result(timeout=30) == 6


def test_development_component_enabled_by_env(
    dev_executor: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import plait
    from plait.config.config import build_component

    monkeypatch.setenv("PLAIT_ENABLE_DEVELOPMENT", "other, maturity-dev")
    assert isinstance(plait.Config(executors=[dev_executor()]).executors[0], dev_executor)
    assert isinstance(build_component("executor", {"kind": "maturity-dev"}, "x"), dev_executor)


def test_build_component_gate(dev_executor: type[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from plait.config.config import build_component
    from plait.errors import DevelopmentComponentError

    monkeypatch.delenv("PLAIT_ENABLE_DEVELOPMENT", raising=False)
    with pytest.raises(DevelopmentComponentError):
        build_component("executor", {"kind": "maturity-dev"}, "executors[0]")
    built = build_component(
        "executor", {"kind": "maturity-dev"}, "x", enable_development=["maturity-dev"]
    )
    assert isinstance(built, dev_executor)


def test_default_executor_skips_development_kinds(
    dev_executor: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from plait.config import config as config_module
    from plait.errors import DevelopmentComponentError
    from plait_threads import ThreadPoolExecutor

    monkeypatch.delenv("PLAIT_ENABLE_DEVELOPMENT", raising=False)
    monkeypatch.setattr(config_module, "DEFAULT_EXECUTOR_KINDS", ("maturity-dev", "threads"))
    (chosen,) = config_module.default_executors()
    assert type(chosen) is ThreadPoolExecutor
    (chosen,) = config_module.default_executors(["maturity-dev"])
    assert type(chosen) is dev_executor
    monkeypatch.setattr(config_module, "DEFAULT_EXECUTOR_KINDS", ("maturity-dev",))
    with pytest.raises(DevelopmentComponentError):
        config_module.default_executors()


def test_unregistered_classes_are_not_gated(monkeypatch: pytest.MonkeyPatch) -> None:
    import plait
    from plait_threads import ThreadPoolExecutor

    monkeypatch.delenv("PLAIT_ENABLE_DEVELOPMENT", raising=False)

    class Mine(ThreadPoolExecutor):
        maturity = "development"

    assert isinstance(plait.Config(executors=[Mine()]).executors[0], Mine)


def test_alpha_component_warns_once() -> None:
    import plait
    from plait.errors import PlaitMaturityWarning
    from plait.maturity import reset_maturity_warnings
    from plait_threads import ThreadPoolExecutor

    reset_maturity_warnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plait.Config(executors=[ThreadPoolExecutor()])
        plait.Config(executors=[{"kind": "threads"}])
        plait.Config(executors=[ThreadPoolExecutor(label="again")])
    mine = [w for w in caught if issubclass(w.category, PlaitMaturityWarning)]
    assert len(mine) == 1, [str(w.message) for w in mine]
    message = str(mine[0].message)
    assert "the executor 'threads' (plait_threads.executor.ThreadPoolExecutor)" in message
    assert "maturity level 'alpha'" in message
    assert mine[0].filename == __file__, "the warning points at the user's code"


def test_load_without_configuration_does_not_warn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``plait.load()`` with no configuration uses only components the user did not name
    (the default executor, the built-in console reporter), so nothing warns; the
    once-per-process warning is kept for an explicit use of the same component."""
    import plait
    from plait.errors import PlaitMaturityWarning
    from plait.maturity import reset_maturity_warnings
    from plait_htex import HighThroughputExecutor

    monkeypatch.chdir(tmp_path)  # the default run_dir, runinfo/, is relative
    reset_maturity_warnings()

    @plait.python_app
    def double(x: int) -> int:
        return 2 * x

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with plait.load() as dfk:
            assert [type(e) for e in dfk.executors.values()] == [HighThroughputExecutor]
            assert HighThroughputExecutor.maturity == "alpha"
            assert double(2).result(timeout=30) == 4
    mine = [str(w.message) for w in caught if issubclass(w.category, PlaitMaturityWarning)]
    assert mine == []
    with pytest.warns(PlaitMaturityWarning, match="the executor 'threads'") as named:
        plait.Config(executors=[{"kind": "threads"}])
    assert len(named) == 1


def test_built_in_components_do_not_warn_about_alpha(monkeypatch: pytest.MonkeyPatch) -> None:
    """Components of the core distribution (classes in ``plait.*``) do not warn about being
    alpha, even when named; deprecated ones still warn and development is still refused."""
    from plait.builtins.console_reporter import ConsoleErrorReporter
    from plait.config.config import build_component
    from plait.errors import DevelopmentComponentError, PlaitMaturityWarning
    from plait.maturity import check_component_allowed, reset_maturity_warnings
    from plait.plugins import get_plugin_system
    from plait.registry import KIND_BASES

    system = get_plugin_system()
    alpha_built_ins = [
        cls
        for kind in KIND_BASES
        for _, cls in system.registry(kind).items()
        if cls.__module__.startswith("plait.") and cls.maturity == "alpha"
    ]
    assert ConsoleErrorReporter in alpha_built_ins
    reset_maturity_warnings()
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlaitMaturityWarning)
        for cls in alpha_built_ins:
            check_component_allowed(cls)
        build_component("error_reporter", {"kind": "console"}, "error_reporters[0]")

    monkeypatch.setattr(ConsoleErrorReporter, "maturity", "deprecated")
    with pytest.warns(PlaitMaturityWarning, match="the error_reporter 'console'.*'deprecated'"):
        check_component_allowed(ConsoleErrorReporter)
    monkeypatch.setattr(ConsoleErrorReporter, "maturity", "development")
    monkeypatch.delenv("PLAIT_ENABLE_DEVELOPMENT", raising=False)
    with pytest.raises(DevelopmentComponentError):
        build_component("error_reporter", {"kind": "console"}, "error_reporters[0]")


def test_warn_false_skips_the_warning_not_the_gate(
    dev_executor: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``warn=False`` (what the default executor uses) neither warns nor uses up the
    once-per-process warning, and still refuses a development component."""
    from plait.errors import DevelopmentComponentError, PlaitMaturityWarning
    from plait.maturity import check_component_allowed, reset_maturity_warnings
    from plait_threads import ThreadPoolExecutor

    reset_maturity_warnings()
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlaitMaturityWarning)
        check_component_allowed(ThreadPoolExecutor, warn=False)
        check_component_allowed(ThreadPoolExecutor(), warn=False)
    with pytest.warns(PlaitMaturityWarning, match="the executor 'threads'"):
        check_component_allowed(ThreadPoolExecutor)
    monkeypatch.delenv("PLAIT_ENABLE_DEVELOPMENT", raising=False)
    with pytest.raises(DevelopmentComponentError):
        check_component_allowed(dev_executor, warn=False)
