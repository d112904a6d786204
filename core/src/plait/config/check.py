"""Checking a configuration without running it: every problem at once, each a
:class:`~plait.errors.PlaitError` with the path of the value it is about
(``executors[0].provider.max_blocks``).

A component table is checked option by option: unknown keys (with a suggestion), the
option's type (from the class's annotations, strictly: ``"3"`` is not an ``int``),
its converter and validator, and nested component tables (an option typed as a
component interface, such as ``provider: ExecutionProvider``, is looked up in that
kind's registry). Only a table whose options are all valid is built, which checks the
options against each other. Built components are then given to the
:func:`~plait.hookspecs.plait_check_component` hooks of every plugin, which add the
checks that need the component's own knowledge (scheduler commands on ``PATH``,
addresses, worker versions).
"""

from __future__ import annotations

import inspect
import typing
import warnings
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import attrs
import cattrs

from plait.config.apps import AppSettings
from plait.config.config import Config, split_staging
from plait.errors import (
    CapabilityError,
    ConfigError,
    DuplicateLabelError,
    PlaitError,
    UnknownExecutorError,
    unknown_key,
)
from plait.interfaces import Component, Executor
from plait.registry import KIND_BASES
from plait.validators import AttrsField


@attrs.frozen
class Problem:
    """One problem of a configuration: the error and the path of the value."""

    path: str
    error: PlaitError

    def as_dict(self) -> dict[str, str]:
        """The problem as plain data (``plait config check --json``)."""
        return {
            "path": self.path,
            "code": self.error.code,
            "title": self.error.title,
            "message": self.error.message,
            "hint": self.error.hint,
            "docs": self.error.docs_url,
        }

    def __str__(self) -> str:
        where = self.path or "(file)"
        text = f"{where}: [{self.error.code}] {self.error.title}: {self.error.message}"
        return text + (f"\n    hint: {self.error.hint}" if self.error.hint else "")


@attrs.define
class CheckResult:
    """What :func:`check_config` found: the problems and, when there are none, the
    configuration built from the data."""

    problems: list[Problem] = attrs.field(factory=list)
    config: Config | None = None

    @property
    def ok(self) -> bool:
        """True when the configuration has no problem."""
        return not self.problems


def check_config(data: Any) -> CheckResult:
    """Check ``data`` (a parsed config file or dict) and return every problem."""
    result = CheckResult()
    if not isinstance(data, Mapping):
        result.problems.append(
            Problem("", ConfigError(f"a configuration is a table, not a {type(data).__name__}"))
        )
        return result
    with warnings.catch_warnings():  # the maturity warnings are for runs, not checks
        warnings.simplefilter("ignore")
        _Checker(result, data).run()
    return result


class _Checker:
    def __init__(self, result: CheckResult, data: Mapping[str, Any]) -> None:
        self.result = result
        self.data = data
        self.enabled = data.get("enable_development", ())
        self.built: list[tuple[str, Component]] = []

    def add(self, path: str, error: PlaitError) -> None:
        """Record ``error`` at ``path`` (plus its ``option`` detail), or at its own
        ``path`` detail when it has one (a plugin's check of an app's settings)."""
        option = error.details.get("option")
        if isinstance(error.details.get("path"), str):
            path = error.details["path"]
        elif isinstance(option, str):  # "retries", or "Owner.option[2]" from a converter
            option = option.rpartition(".")[2]
            if option and not path.endswith(option):
                path = f"{path}.{option}" if path else option
        self.result.problems.append(Problem(path, error))

    def run(self) -> None:
        fields = {f.name: f for f in attrs.fields(Config)}
        settings: dict[str, Any] = {}
        for key, value in self.data.items():
            if key not in fields:
                self.add("", unknown_key("the configuration", key, list(fields)))
            elif key == "executors":
                settings[key] = self.executors(value)
            elif key == "error_reporters":
                settings[key] = self.components("error_reporter", key, value)
            elif key == "apps":
                settings[key] = self.apps(value)
            elif self.option(Config, fields[key], key, value, _hints(Config)):
                settings[key] = value
        if isinstance(settings.get("executors"), list) and None not in settings["executors"]:
            self.app_executors(settings.get("apps", {}), settings["executors"])
        config = None
        if not self.result.problems:
            try:
                config = Config(**settings)
            except PlaitError as exc:
                self.add("", exc)
        for path, component in self.built:
            self.plugin_checks(path, component, config)
        if not self.result.problems:
            self.result.config = config

    def components(self, kind: str, key: str, value: Any) -> list[Any]:
        """Check the list ``key`` of components of ``kind``; the built ones (None for
        each that is not valid)."""
        if not isinstance(value, list):
            self.add(key, ConfigError(f"{key} must be a list of tables or names, got {value!r}"))
            return []
        return [self.component(kind, item, f"{key}[{i}]") for i, item in enumerate(value)]

    def executors(self, value: Any) -> list[Any]:
        kernel_keys: list[dict[str, Any]] = []
        if isinstance(value, list):
            checked = [self.staging(item, i) for i, item in enumerate(value)]
            value = [table for table, _ in checked]
            kernel_keys = [keys for _, keys in checked]
        built = self.components("executor", "executors", value)
        for executor, keys in zip(built, kernel_keys, strict=True):
            for key, setting in keys.items():
                if executor is not None:
                    setattr(executor, key, setting)
        if not built:  # not a list (reported), or empty
            return built
        labels: dict[str, int] = {}
        for i, (item, executor) in enumerate(zip(value, built, strict=True)):
            label = getattr(executor, "label", None)
            if label is None and isinstance(item, Mapping):
                label = item.get("label")
            if not isinstance(label, str):
                continue
            if label in labels:
                self.add(
                    f"executors[{i}].label",
                    DuplicateLabelError(
                        f"executors[{i}] has the label {label!r} of executors[{labels[label]}]"
                    ),
                )
            labels.setdefault(label, i)
        return built

    def staging(self, item: Any, i: int) -> tuple[Any, dict[str, Any]]:
        """Check an executor table's staging keys (read by the kernel, not the executor
        class); the table without them, and their valid values."""
        if not isinstance(item, Mapping):
            return item, {}
        table, keys = split_staging(item)
        valid: dict[str, Any] = {}
        path = f"executors[{i}]"
        if "staging" in keys:
            if isinstance(keys["staging"], list):
                stagers = self.components("stager", f"{path}.staging", keys["staging"])
                if all(s is not None for s in stagers):
                    valid["staging"] = stagers
            else:
                error = ConfigError(f"{path}.staging must be a list of stagers")
                self.add(f"{path}.staging", error)
        if "working_dir" in keys:
            if isinstance(keys["working_dir"], str):
                valid["working_dir"] = keys["working_dir"]
            else:
                error = ConfigError(f"{path}.working_dir must be a path string")
                self.add(f"{path}.working_dir", error)
        return table, valid

    def apps(self, value: Any) -> dict[str, AppSettings]:
        if not isinstance(value, Mapping):
            self.add("apps", ConfigError(f"apps must be a table of app names, got {value!r}"))
            return {}
        apps: dict[str, AppSettings] = {}
        for name, table in value.items():
            path = f"apps.{name}"
            if not isinstance(table, Mapping):
                self.add(path, ConfigError(f"{path} must be a table, got {table!r}"))
                continue
            before = len(self.result.problems)
            values = self.options(AppSettings, dict(table), path)
            if len(self.result.problems) == before:
                built, settings = self.attempt(path, path, partial(AppSettings, **values))
                if built:
                    apps[str(name)] = settings
        return apps

    def app_executors(self, apps: Mapping[str, AppSettings], executors: list[Executor]) -> None:
        """Each app's executor labels exist, and an MPI request has an executor that
        runs MPI tasks (the plugins check the request against their blocks)."""
        labels = [e.label for e in executors]
        for name, settings in apps.items():
            for i, label in enumerate(settings.executors or ()):
                if label not in labels:
                    self.add(
                        f"apps.{name}.executors[{i}]",
                        UnknownExecutorError(
                            f"app {name!r} is set to run on executor {label!r}; this "
                            f"configuration has {labels}"
                        ),
                    )
            spec = settings.resource_specification
            wanted = [e for e in executors if e.label in (settings.executors or labels)]
            if spec is not None and spec.mpi() is not None and not any(e.runs_mpi for e in wanted):
                self.add(
                    f"apps.{name}.resource_specification",
                    CapabilityError(
                        f"app {name!r} asks for MPI ranks, but none of its executors "
                        f"{[e.label for e in wanted]} runs MPI tasks",
                        hint='give an htex executor an mpi_launcher ("mpiexec", "mpirun", '
                        '"srun-mpi")',
                    ),
                )

    def component(self, kind: str, data: Any, path: str) -> Any:
        """Check a component table (or name) of ``kind``; the built component, or None."""
        from plait.maturity import check_component_allowed
        from plait.plugins import registry

        if isinstance(data, KIND_BASES[kind]):
            return data
        if isinstance(data, str):
            data = {"kind": data}
        if not isinstance(data, Mapping):
            self.add(path, ConfigError(f"{path} must be a table with a 'kind' key, got {data!r}"))
            return None
        if "kind" not in data:
            self.add(
                path, ConfigError(f"{path} has no 'kind' key", hint=f'add kind = "<{kind} name>"')
            )
            return None
        name = str(data["kind"])
        try:
            cls = registry(kind).get(name)
            check_component_allowed(cls, kind=kind, name=name, enabled=self.enabled, warn=False)
        except PlaitError as exc:
            self.add(f"{path}.kind", exc)
            return None
        options = {k: v for k, v in data.items() if k != "kind"}
        before = len(self.result.problems)
        values = self.options(cls, options, path)
        if len(self.result.problems) > before:
            return None
        built, component = self.attempt(path, path, lambda: cls(**values))
        if built:
            self.built.append((path, component))
        return component

    def options(self, cls: type[Any], options: dict[str, Any], path: str) -> dict[str, Any]:
        """Check each option of ``cls`` alone; the values to build it with."""
        if not attrs.has(cls):
            params = inspect.signature(cls).parameters
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
                for key in options:
                    if key not in params:
                        self.add(
                            f"{path}.{key}",
                            unknown_key(f"{path} ({cls.__name__})", key, list(params)),
                        )
            return options
        fields = {f.alias: f for f in attrs.fields(cls) if f.init}
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for key, value in options.items():
            field = fields.get(key)
            if field is None:
                self.add(
                    f"{path}.{key}", unknown_key(f"{path} ({cls.__name__})", key, list(fields))
                )
                continue
            kind = _component_kind(hints.get(field.name))
            if kind is not None and isinstance(value, (str, Mapping)):
                value = self.component(kind, value, f"{path}.{key}")
                if value is not None:
                    values[key] = value
            elif self.option(cls, field, f"{path}.{key}", value, hints, options):
                values[key] = value
        return values

    def option(
        self,
        cls: type[Any],
        field: AttrsField,
        path: str,
        value: Any,
        hints: dict[str, Any],
        given: Mapping[str, Any] | None = None,
    ) -> bool:
        """Check one option: its type, converter and validator. True when valid."""

        def check() -> None:
            converted = value
            if field.converter is not None:
                converted = typing.cast(Callable[[Any], Any], field.converter)(value)
            elif not _has_type(value, hints.get(field.name)):
                expected = _type_name(hints.get(field.name))
                raise ConfigError(
                    f"{cls.__name__}.{field.alias}={value!r} must be {expected}, "
                    f"not {type(value).__name__}"
                )
            if field.validator is not None:
                field.validator(_stand_in(cls, given or {}), field, converted)

        return self.attempt(path, f"{cls.__name__}.{field.alias}", check)[0]

    def attempt(self, path: str, what: str, call: Callable[[], Any]) -> tuple[bool, Any]:
        """``(True, call())``, or ``(False, None)`` with the error it raised added as a
        problem at ``path`` (a TypeError or ValueError as a ConfigError on ``what``)."""
        try:
            return True, call()
        except PlaitError as exc:
            self.add(path, exc)
        except (TypeError, ValueError) as exc:
            self.add(path, ConfigError(f"{what}: {exc}"))
        return False, None

    def plugin_checks(self, path: str, component: Component, config: Config | None) -> None:
        from plait.plugins import get_plugin_system

        hook = get_plugin_system().hook
        for errors in hook.plait_check_component(component=component, path=path, config=config):
            for error in errors or ():
                self.add(path, error)


# --- types ------------------------------------------------------------------------


def _strict_converter() -> cattrs.Converter:
    """A cattrs converter that checks primitive types instead of coercing them."""
    conv = cattrs.Converter()

    def strict(*types: type[Any]) -> Any:
        def structure(value: Any, _: Any) -> Any:
            if isinstance(value, bool) and bool not in types:
                raise TypeError(value)
            if not isinstance(value, types):
                raise TypeError(value)
            return value

        return structure

    conv.register_structure_hook(int, strict(int))
    conv.register_structure_hook(float, strict(int, float))
    conv.register_structure_hook(str, strict(str))
    conv.register_structure_hook(bool, strict(bool))
    return conv


_CONVERTER = _strict_converter()


def _has_type(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the annotation ``hint`` (True when it cannot be told)."""
    if hint is None or hint is Any:
        return True
    try:
        _CONVERTER.structure(value, hint)
    except cattrs.errors.StructureHandlerNotFoundError:
        return True
    except Exception:
        return False
    return True


def _type_name(hint: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if hint in names:
        return names[hint]
    if len(args) == 1 and args[0] in names:
        return names[args[0]]
    return f"of type {getattr(hint, '__name__', None) or hint}"


def _hints(cls: type[Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be evaluated: no type checks
        return {}


def _component_kind(hint: Any) -> str | None:
    """The registry kind of an option annotated with a component interface."""
    for candidate in (hint, *typing.get_args(hint)):
        for kind, base in KIND_BASES.items():
            # (on Python 3.10, tuple[int, int] is an instance of type too)
            plain = isinstance(candidate, type) and typing.get_origin(candidate) is None
            if plain and issubclass(candidate, base):
                return kind
    return None


def _stand_in(cls: type[Any], given: Mapping[str, Any]) -> Any:
    """An unconstructed ``cls`` holding the given options and the other defaults, for
    validators that read other fields (or name the class in their message)."""
    stand_in = object.__new__(cls)
    for field in attrs.fields(cls):
        if field.alias in given:
            value = given[field.alias]
        elif isinstance(field.default, attrs.Factory) and not field.default.takes_self:  # type: ignore[arg-type]
            value = field.default.factory()
        elif field.default is not attrs.NOTHING:
            value = field.default
        else:
            continue
        object.__setattr__(stand_in, field.name, value)
    return stand_in
