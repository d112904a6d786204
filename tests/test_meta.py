"""Meta-tests: the specs, the conformance kit, the hooks, the docs and the tests agree.

* Every requirement id an interface spec defines is checked by at least one test of the
  kit class of that kind, every id a kit test carries is defined by its spec, and the
  spec's version is the kit's ``spec_version``.
* Every hook in :mod:`plait.hookspecs` is in the built hook reference (docs/plugins.rst)
  and is named by at least one test module.
* Every error code has its entry in the built error catalogue (docs/errors.rst) and is
  raised by at least one test: the test names the class or the code, or a config of
  ``tests/configs`` expects it.
* ``plait.registry.FIRST_PARTY`` names the distribution of every component of
  ``maturity.yaml``.
"""

from __future__ import annotations

import ast
import html
import importlib
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from plait import hookspecs
from plait.cli.conformance import KIT_CLASSES
from plait.conformance.base import ConformanceBase, requirement_ids, requirement_tests
from plait.errors import all_error_classes
from plait.maturity.schema import load_maturity_file
from plait.registry import FIRST_PARTY, KIND_BASES

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "interface-specs"
DOCS = ROOT / "docs"
TEST_DIRS = [ROOT / "core" / "tests", ROOT / "tests", *sorted((ROOT / "plugins").glob("*/tests"))]

REQUIREMENT_ID = re.compile(r"[A-Z]{3}-\d{3}")
SPEC_VERSION = re.compile(r"^Spec version: \*\*([^*]+)\*\*", re.MULTILINE)
KINDS = sorted(KIND_BASES)


# --- interface specs and the conformance kit ------------------------------------------


def spec_path(kind: str) -> Path:
    return SPECS / f"{kind.replace('_', '-')}.md"


def read_spec(path: Path) -> str:
    if not path.exists():
        pytest.fail(f"missing interface spec {path.relative_to(ROOT)}")
    return path.read_text()


def spec_requirements(path: Path) -> list[str]:
    """Ids a spec defines: table cells that hold nothing but an id (``| EXE-001 |`` in
    the requirement table, ``| `cancel` | EXE-101 |`` in the capability table); ids
    mentioned in prose or inside a requirement's text are references, not definitions."""
    ids: list[str] = []
    for line in read_spec(path).splitlines():
        if line.lstrip().startswith("|"):
            ids.extend(
                cell.strip()
                for cell in line.strip().strip("|").split("|")
                if REQUIREMENT_ID.fullmatch(cell.strip())
            )
    return ids


def kit_module(kind: str) -> ModuleType:
    name = f"plait.conformance.{kind}"
    if importlib.util.find_spec(name) is None:
        pytest.fail(f"{spec_path(kind).name} has no conformance kit: no module {name}")
    return importlib.import_module(name)


def kit_class(kind: str) -> type[ConformanceBase]:
    """The kit class of ``kind``: the one class of ``plait.conformance.<kind>`` that
    derives from ConformanceBase and not from another kit class of that module (variants,
    such as one for external backends, subclass it)."""
    module = kit_module(kind)
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, ConformanceBase)
        and obj.__module__ == module.__name__
    ]
    roots = [c for c in classes if not any(o is not c and issubclass(c, o) for o in classes)]
    assert len(roots) == 1, (
        f"{module.__name__} should define one kit class, not {[c.__name__ for c in roots]}"
    )
    return roots[0]


def test_there_is_one_spec_per_component_kind() -> None:
    assert sorted(p.name for p in SPECS.glob("*.md")) == sorted(spec_path(k).name for k in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_spec_defines_each_requirement_once(kind: str) -> None:
    ids = spec_requirements(spec_path(kind))
    assert ids, f"{spec_path(kind).name} defines no requirement ids"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{spec_path(kind).name} defines these ids twice: {duplicates}"
    prefixes = {i[:3] for i in ids}
    assert len(prefixes) == 1, f"{spec_path(kind).name} mixes id prefixes: {sorted(prefixes)}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_spec_requirement_is_checked_by_a_kit_test(kind: str) -> None:
    cls = kit_class(kind)
    uncovered = sorted(set(spec_requirements(spec_path(kind))) - requirement_ids(cls))
    assert not uncovered, (
        f"requirements of {spec_path(kind).name} that no test of "
        f"{cls.__module__}.{cls.__qualname__} checks: {', '.join(uncovered)}"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_kit_requirement_is_defined_by_the_spec(kind: str) -> None:
    cls = kit_class(kind)
    defined = set(spec_requirements(spec_path(kind)))
    unknown = {req: tests for req, tests in requirement_tests(cls).items() if req not in defined}
    assert not unknown, (
        f"{cls.__module__}.{cls.__qualname__} tests requirements that "
        f"{spec_path(kind).name} does not define: {unknown}"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_spec_version_is_the_kit_spec_version(kind: str) -> None:
    cls = kit_class(kind)
    match = SPEC_VERSION.search(read_spec(spec_path(kind)))
    assert match, f"{spec_path(kind).name} has no 'Spec version: **X.Y**' line"
    assert match[1] == cls.spec_version, (
        f"{spec_path(kind).name} is version {match[1]}, "
        f"{cls.__qualname__}.spec_version is {cls.spec_version}"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_kit_kind_is_the_registry_kind(kind: str) -> None:
    """The report's ``kind`` is the one registries and maturity.yaml use."""
    cls = kit_class(kind)
    assert cls.kind == kind, f"{cls.__qualname__}.kind is {cls.kind!r}, the kind is {kind!r}"


@pytest.mark.parametrize("kind", KINDS)
def test_plait_conformance_command_uses_the_kit_class(kind: str) -> None:
    cls = kit_class(kind)
    assert KIT_CLASSES[kind] == f"{cls.__module__}:{cls.__qualname__}"


# --- hooks: documented and exercised ----------------------------------------------------


def hook_docstrings() -> dict[str, str]:
    """Docstrings of the hookspec functions, read from the source: typeguard's
    instrumentation (active in the tests) drops the runtime ``__doc__`` of a function
    whose body is only a docstring."""
    tree = ast.parse(Path(hookspecs.__file__).read_text())
    return {
        node.name: ast.get_docstring(node) or ""
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


def hook_names() -> list[str]:
    names = [
        name
        for name, obj in vars(hookspecs).items()
        if name.startswith("plait_") and inspect.isfunction(obj) and hasattr(obj, "plait_spec")
    ]
    assert names, "plait.hookspecs defines no hooks"
    return names


HOOKS = hook_names()


def test_reference_docs_document_the_hookspecs_module() -> None:
    source = (DOCS / "plugins.rst").read_text()
    automodule = re.search(
        r"^\.\. automodule:: plait\.hookspecs\n((?:[ \t]+:.*\n)*)", source, re.MULTILINE
    )
    if automodule is not None and re.search(r":members:\s*$", automodule[1], re.MULTILINE):
        excluded = re.search(r":exclude-members:(.*)", automodule[1])
        hidden = [h for h in HOOKS if excluded and h in excluded[1]]
        assert not hidden, f"docs/plugins.rst excludes hooks from the reference: {hidden}"
        return
    missing = [h for h in HOOKS if f".. autofunction:: plait.hookspecs.{h}" not in source]
    assert not missing, (
        "docs/plugins.rst neither has `.. automodule:: plait.hookspecs` with `:members:` "
        f"nor an autofunction for {missing}"
    )


@pytest.fixture(scope="module")
def docs_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built docs: the existing build when it is newer than the sources the tests
    read (the hooks, the errors, the pages), else a fresh Sphinx build (a few seconds)."""
    from plait import errors

    built = DOCS / "_build" / "html"
    sources = [Path(hookspecs.__file__), Path(errors.__file__), DOCS / "plugins.rst"]
    sources += [DOCS / "errors.rst", DOCS / "conf.py"]
    pages = [built / "plugins.html", built / "errors.html"]
    newest = max(p.stat().st_mtime for p in sources)
    if all(p.exists() and p.stat().st_mtime >= newest for p in pages):
        return built
    pytest.importorskip("sphinx", reason="no up-to-date docs build and sphinx is not installed")
    out = tmp_path_factory.mktemp("docs-html")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(DOCS), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="module")
def plugins_html(docs_html: Path) -> str:
    return (docs_html / "plugins.html").read_text()


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_in_the_built_reference(plugins_html: str, hook: str) -> None:
    anchor = f'id="plait.hookspecs.{hook}"'
    assert anchor in plugins_html, f"{hook} is not in the built hook reference (plugins.html)"
    doc = hook_docstrings().get(hook)
    assert doc, f"{hook} has no docstring"
    entry = plugins_html.split(anchor, 1)[1].split("</dd>", 1)[0]
    words = re.sub(r":\w+:|[`*]", "", doc).split()[:3]
    assert " ".join(words) in re.sub(r"\s+([.:,])", r"\1", _text(entry)), (
        f"the reference entry of {hook} does not show its docstring ({' '.join(words)}...)"
    )


def sources_of_tests() -> dict[Path, str]:
    """Every test module and conftest, except this file."""
    me = Path(__file__).resolve()
    return {
        path: path.read_text()
        for directory in TEST_DIRS
        for path in sorted(directory.rglob("*.py"))
        if (path.name.startswith("test_") or path.name == "conftest.py") and path.resolve() != me
    }


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_exercised_by_a_test(hook: str) -> None:
    pattern = re.compile(rf"\b{hook}\b")
    users = [path for path, text in sources_of_tests().items() if pattern.search(text)]
    assert users, f"no test module implements or calls the hook {hook}"


# --- the error catalogue ---------------------------------------------------------------

ERRORS = all_error_classes()


@pytest.fixture(scope="module")
def errors_html(docs_html: Path) -> str:
    return (docs_html / "errors.html").read_text()


def test_error_codes_are_unique() -> None:
    codes = [cls.code for cls in ERRORS]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.code)
def test_error_code_is_in_the_built_catalogue(errors_html: str, cls: type) -> None:
    anchor = f'id="{cls.code.lower()}"'
    assert anchor in errors_html, f"{cls.code} has no entry in the built errors.html"
    entry = errors_html.split(anchor, 1)[1][:4000]
    assert html.escape(cls.title) in entry or cls.title in _text(entry)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.code)
def test_error_code_is_raised_by_a_test(cls: type) -> None:
    pattern = re.compile(rf"\b({cls.__name__}|{cls.code})\b")
    corpus = [p.read_text() for p in sorted((ROOT / "tests" / "configs").rglob("*.*"))]
    users = [text for text in [*sources_of_tests().values(), *corpus] if pattern.search(text)]
    assert users, f"no test raises {cls.__name__} ({cls.code}) or expects its code"


def test_first_party_table_names_every_component_of_maturity_yaml() -> None:
    entries = {
        (c.kind, c.name): c.package for c in load_maturity_file(ROOT / "maturity.yaml").components
    }
    assert entries == FIRST_PARTY
