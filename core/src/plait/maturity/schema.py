"""The ``maturity.yaml`` schema: the attrs classes a parsed file is made of, the cattrs
converter that builds them (with messages that name the file, the entry and the field),
and :func:`read_maturity_file` / :func:`load_maturity_file`."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs
import yaml  # type: ignore[import-untyped,unused-ignore]
from cattrs.errors import ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, override
from cattrs.v import format_exception as _cattrs_format_exception

from plait.errors import (
    MaturityFileError,
    PlaitError,
    UnknownMaturityLevelError,
    closest,
    did_you_mean,
)
from plait.interfaces.component import MATURITY_LEVELS
from plait.maturity.rules import RULES, rules_for
from plait.registry import KIND_BASES

DEFAULT_FILE = "maturity.yaml"


@attrs.frozen
class InterfaceRef:
    """The interface spec a component implements: ``interface-specs/<spec>.md``."""

    spec: str
    version: str


@attrs.frozen
class RuleStatus:
    """``done``, ``todo``, or ``exempt`` with the ``comment`` saying why."""

    state: str
    comment: str = ""

    @property
    def met(self) -> bool:
        """True for ``done`` and ``exempt``."""
        return self.state in ("done", "exempt")


@attrs.frozen
class ComponentEntry:
    """One component of ``maturity.yaml``; ``index`` is its position in the file."""

    name: str
    kind: str
    package: str
    level: str
    since: str
    owners: tuple[str, ...]
    interface: InterfaceRef
    capabilities: tuple[str, ...]
    rules: dict[str, RuleStatus]
    replaced_by: str | None = None
    index: int = attrs.field(default=-1, eq=False)

    @property
    def label(self) -> str:
        """``executor 'threads'``: how messages name the component."""
        return f"{self.kind} {self.name!r}"

    def missing_rules(self) -> list[str]:
        """Rules of the claimed level that are absent or still ``todo``."""
        return [r for r in rules_for(self.level) if r not in self.rules or not self.rules[r].met]


@attrs.frozen
class MaturityFile:
    """A parsed ``maturity.yaml``."""

    path: Path
    components: tuple[ComponentEntry, ...]
    invalid: frozenset[tuple[str, str]] = frozenset()
    """``(kind, name)`` of entries left out because they have schema problems."""

    @property
    def packages(self) -> set[str]:
        """The first-party distributions (normalized names) the file names."""
        return {normalize_dist(e.package) for e in self.components}

    def entry(self, kind: str, name: str) -> ComponentEntry | None:
        """The entry for ``kind``/``name``, if listed."""
        for e in self.components:
            if e.kind == kind and e.name == name:
                return e
        return None


class _NamedText(io.StringIO):
    """Text with a ``name``, so YAML errors say which file."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.name = name


class _SchemaValueError(ValueError):
    """A value the schema rejects, with a message fit for the user."""


def normalize_dist(name: str) -> str:
    """A distribution name in canonical form (PEP 503): ``plait_threads`` -> ``plait-threads``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _strict_str(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise _SchemaValueError(
            f'expected a string, got {type(value).__name__} {value!r} (quote it: "{value}")'
        )
    return value


def _str_tuple(value: Any, _: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _SchemaValueError(
            f"expected a list of strings like [a, b], got {type(value).__name__} {value!r}"
        )
    for item in value:
        if not isinstance(item, str):
            raise _SchemaValueError(f"expected strings in the list, got {item!r}")
    return tuple(value)


def _rule_status(value: Any, _: Any) -> RuleStatus:
    if isinstance(value, str) and value in ("done", "todo"):
        return RuleStatus(value)
    if isinstance(value, Mapping):
        extra = sorted(str(k) for k in value if k not in ("status", "comment"))
        if extra:
            raise _SchemaValueError(
                f"unknown key(s) {', '.join(extra)} in a rule status; "
                "write {status: exempt, comment: why}"
            )
        if value.get("status") != "exempt":
            raise _SchemaValueError(
                f"unknown rule status {value.get('status')!r}; a mapping status must be "
                "{status: exempt, comment: why}"
            )
        comment = value.get("comment")
        if not isinstance(comment, str) or not comment.strip():
            raise _SchemaValueError("an exempt rule needs a non-empty comment saying why")
        return RuleStatus("exempt", comment.strip())
    raise _SchemaValueError(
        f"unknown rule status {value!r}; use done, todo or {{status: exempt, comment: why}}"
    )


def _rules(value: Any, _: Any) -> dict[str, RuleStatus]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _SchemaValueError(
            f"expected a mapping of rule id to status, got {type(value).__name__} {value!r}"
        )
    out: dict[str, RuleStatus] = {}
    errors: list[str] = []
    for rule, status in value.items():
        try:
            out[str(rule)] = _rule_status(status, RuleStatus)
        except _SchemaValueError as exc:
            errors.append(f"rule {rule!r}: {exc}")
    if errors:
        raise _SchemaValueError("; ".join(errors))
    return out


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _str_tuple)
    conv.register_structure_hook_func(lambda t: t == dict[str, RuleStatus], _rules)
    conv.register_structure_hook(
        ComponentEntry,
        make_dict_structure_fn(
            ComponentEntry, conv, _cattrs_forbid_extra_keys=True, index=override(omit=True)
        ),
    )
    return conv


_converter = _make_converter()
_FIELDS = [a.name for a in attrs.fields(ComponentEntry) if a.name != "index"]


def _format_exception(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, _SchemaValueError):
        return str(exc)
    if isinstance(exc, ForbiddenExtraKeysError):
        known = [a.name for a in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        known = [k for k in known if k != "index"]
        parts = []
        for key in sorted(exc.extra_fields):
            parts.append(f"{key!r}{did_you_mean(key, known)}")
        return f"unknown field {', '.join(parts)}; known fields: {', '.join(known)}"
    if isinstance(exc, KeyError):
        return "required field missing"
    return _cattrs_format_exception(exc, type_)


def _entry_where(file: Path, index: int, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    named = f" (name {name!r})" if isinstance(name, str) else ""
    return f"{_display(file)}: components[{index}]{named}"


def _level_and_kind_problems(where: str, raw: Mapping[str, Any]) -> list[PlaitError]:
    out: list[PlaitError] = []
    level = raw.get("level")
    if isinstance(level, str) and level not in MATURITY_LEVELS:
        close = closest(level, MATURITY_LEVELS)
        out.append(
            UnknownMaturityLevelError(
                f"{where}: field 'level': {level!r} is not a maturity level",
                hint=(f"did you mean {close!r}? " if close else "")
                + f"set level to one of: {', '.join(MATURITY_LEVELS)}",
            )
        )
    kind = raw.get("kind")
    if isinstance(kind, str) and kind not in KIND_BASES:
        close = closest(kind, KIND_BASES)
        out.append(
            MaturityFileError(
                f"{where}: field 'kind': {kind!r} is not a component kind",
                hint=(f"did you mean {close!r}? " if close else "")
                + f"use one of: {', '.join(KIND_BASES)}",
            )
        )
    return out


def _semantic_problems(file: Path, entry: ComponentEntry) -> list[PlaitError]:
    where = f"{_display(file)}: components[{entry.index}] ({entry.label})"
    out: list[PlaitError] = []
    if entry.kind in KIND_BASES:
        spec = entry.kind.replace("_", "-")
        if entry.interface.spec != spec:
            out.append(
                MaturityFileError(
                    f"{where}: field 'interface.spec': {entry.interface.spec!r} is not the "
                    f"spec of kind {entry.kind!r}",
                    hint=f"set interface: {{spec: {spec}, version: ...}}",
                )
            )
    if not entry.name.strip() or not entry.package.strip():
        out.append(MaturityFileError(f"{where}: fields 'name' and 'package' must not be empty"))
    if not re.fullmatch(r"\d+(\.\d+)*([.+-]?[0-9A-Za-z.]+)?", entry.since):
        out.append(
            MaturityFileError(
                f"{where}: field 'since': {entry.since!r} is not a version",
                hint='write the version that introduced the component, quoted: since: "0.1.0"',
            )
        )
    if not entry.owners and entry.level != "unmaintained":
        out.append(
            MaturityFileError(
                f"{where}: field 'owners' is empty",
                hint="name who maintains it (owners: [team-or-person]), or set level: unmaintained",
            )
        )
    for rule in entry.rules:
        if rule not in RULES:
            close = closest(rule, RULES)
            out.append(
                MaturityFileError(
                    f"{where}: field 'rules': unknown rule {rule!r}",
                    hint=(f"did you mean {close!r}? " if close else "")
                    + f"known rules: {', '.join(RULES)}",
                )
            )
    return out


def read_maturity_file(path: str | os.PathLike[str]) -> tuple[MaturityFile, list[PlaitError]]:
    """Parse ``path``; return the valid entries and every schema problem found.

    Each problem names the file, the entry (index and name) and the field.
    """
    file = Path(path)
    shown = _display(file)
    empty = MaturityFile(file, ())
    try:
        text = file.read_text()
    except FileNotFoundError:
        return empty, [
            MaturityFileError(
                f"{shown} does not exist",
                hint="run from the repository root or pass --file path/to/maturity.yaml",
            )
        ]
    try:
        data = yaml.safe_load(_NamedText(text, shown))
    except yaml.YAMLError as exc:
        return empty, [
            MaturityFileError(
                f"{shown} is not valid YAML: {' '.join(str(exc).split())}",
                hint="fix the YAML syntax at the line and column named above",
            )
        ]
    if not isinstance(data, Mapping) or not isinstance(data.get("components"), list):
        return empty, [
            MaturityFileError(
                f"{shown} must be a mapping with a 'components' list",
                hint="start the file with `components:` followed by one `- name: ...` "
                "entry per component",
            )
        ]
    problems: list[PlaitError] = []
    extra = sorted(str(k) for k in data if k != "components")
    if extra:
        problems.append(
            MaturityFileError(
                f"{shown}: unknown top-level key(s) {', '.join(extra)}",
                hint="the file has one top-level key, components",
            )
        )
    entries: list[ComponentEntry] = []
    invalid: set[tuple[str, str]] = set()
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(data["components"]):
        where = _entry_where(file, index, raw)
        if not isinstance(raw, Mapping):
            problems.append(
                MaturityFileError(
                    f"{where}: an entry must be a mapping, got {type(raw).__name__} {raw!r}",
                    hint="write each component as `- name: ...` with the fields indented",
                )
            )
            continue
        basic = _level_and_kind_problems(where, raw)
        problems.extend(basic)
        invalid.add((str(raw.get("kind")), str(raw.get("name"))))
        try:
            entry = _converter.structure(raw, ComponentEntry)
        except Exception as exc:
            for line in cattrs.transform_error(exc, "$", _format_exception):
                message, _, at = line.rpartition(" @ ")
                field = at.removeprefix("$").lstrip(".") or "(entry)"
                problems.append(
                    MaturityFileError(
                        f"{where}: field {field!r}: {message}",
                        hint=f"fix field {field!r} of that entry; fields: {', '.join(_FIELDS)}",
                    )
                )
            continue
        entry = attrs.evolve(entry, index=index)
        found = _semantic_problems(file, entry)
        problems.extend(found)
        key = (entry.kind, entry.name)
        if key in seen:
            problems.append(
                MaturityFileError(
                    f"{where}: {entry.label} is listed twice (also components[{seen[key]}])",
                    hint="keep one entry per component",
                )
            )
            continue
        seen[key] = index
        if not found and not basic:
            entries.append(entry)
            invalid.discard(key)
    return MaturityFile(file, tuple(entries), frozenset(invalid)), problems


def load_maturity_file(path: str | os.PathLike[str] = DEFAULT_FILE) -> MaturityFile:
    """Parse ``path``, raising its schema problems (a :class:`~plait.errors.PlaitError`)."""
    parsed, problems = read_maturity_file(path)
    if problems:
        if len(problems) == 1:
            raise problems[0]
        raise MaturityFileError(
            "\n".join(str(p) for p in problems), hint=f"{len(problems)} problems, listed above"
        )
    return parsed
