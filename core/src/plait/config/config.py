"""The :class:`Config` class and building components from plain data."""

from __future__ import annotations

import inspect
import os
import sys
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from plait.config.apps import AppSettings, app_settings
from plait.errors import (
    ConfigError,
    DuplicateLabelError,
    PlaitError,
    did_you_mean,
    unknown_key,
)
from plait.interfaces import ErrorReporter, Executor, parse_walltime
from plait.scheduling import SelectionPolicy, check_policy
from plait.validators import AttrsField, int_at_least

CHECKPOINT_MODES = (None, "task_exit", "periodic", "dfk_exit", "manual")
DEFAULT_EXECUTOR_KINDS = ("htex", "threads")
"""Preferred executor kinds for the local default, best first."""


def build_component(
    kind_name: str,
    data: Mapping[str, Any],
    where: str,
    *,
    check_maturity: bool = True,
    enable_development: Iterable[str] = (),
) -> Any:
    """Instantiate ``data["kind"]`` from the ``kind_name`` registry with the other keys.

    The maturity gate (:func:`plait.maturity.check_component_allowed`) runs first unless
    ``check_maturity`` is false (``Config`` checks its executors itself, once it knows
    ``enable_development``).
    """
    from plait.plugins import registry

    if "kind" not in data:
        raise ConfigError(f"{where} has no 'kind' key", hint=f'add kind = "<{kind_name} name>"')
    options = {k: v for k, v in data.items() if k != "kind"}
    cls = registry(kind_name).get(str(data["kind"]))
    if check_maturity:
        _maturity_gate(cls, kind_name, str(data["kind"]), enable_development)
    params = inspect.signature(cls).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        for key in options:
            if key not in params:
                raise unknown_key(f"{where}: {data['kind']!r}", key, list(params))
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def component_spec(kind_name: str, component: Any) -> dict[str, Any]:
    """The table that rebuilds ``component`` with :func:`build_component`: its registry
    name as ``kind`` and, for an attrs class, its constructor's options (not recursed)."""
    from plait.plugins import registry

    cls = type(component)
    name = registry(kind_name).name_of(cls) or cls.__name__
    fields = attrs.fields(cls) if attrs.has(cls) else ()
    options = {f.alias: getattr(component, f.name) for f in fields if f.init}
    return {"kind": name, **options}


def component_option(
    kind_name: str, base: type[Any], owner: str, option: str, example: str
) -> Callable[[Any], Any]:
    """An attrs converter for an option that holds a component of ``kind_name``: an
    instance of ``base``, the name of an installed component (``"simple"``), or a table
    with a ``kind`` key and the component's options. Anything else, or an unknown name,
    raises :class:`~plait.errors.ConfigError` naming ``owner.option``; ``example`` is
    shown in the hint (e.g. ``launcher = "single-node"``)."""
    from plait.errors import ComponentNotFoundError

    where = f"{owner}.{option}"

    def convert(value: Any) -> Any:
        if isinstance(value, base):
            return value
        if isinstance(value, str):
            data: Mapping[str, Any] = {"kind": value}
        elif isinstance(value, Mapping):
            data = value
        else:
            raise ConfigError(
                f"{where}={value!r} is not a {kind_name}, a {kind_name} name or a table",
                hint=f"use e.g. {example}",
                option=option,
            )
        try:
            built = build_component(kind_name, data, where)
        except ComponentNotFoundError as exc:
            raise ConfigError(f"{where}: {exc.message}", hint=exc.hint, option=option) from None
        if not isinstance(built, base):  # pragma: no cover - the registry checks the base
            raise ConfigError(f"{where}: {built!r} is not a {kind_name}", option=option)
        return built

    return convert


STAGING_KEYS = ("staging", "working_dir")
"""Keys of an executor table that the kernel reads (``interface-specs/stager.md``),
not the executor class."""


def split_staging(table: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An executor table without its :data:`STAGING_KEYS`, and those keys."""
    rest = {k: v for k, v in table.items() if k not in STAGING_KEYS}
    return rest, {k: table[k] for k in STAGING_KEYS if k in table}


def _working_dir(value: Any, i: int) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(
            f"executors[{i}].working_dir must be a path, got {value!r}", option="working_dir"
        )
    return os.fspath(value)


def _executors(value: Any) -> list[Executor]:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"executors must be a list, got {type(value).__name__}")
    built: list[Executor] = []
    for i, item in enumerate(value):
        if isinstance(item, Mapping):
            table, kernel_keys = split_staging(item)
            item = build_component("executor", table, f"executors[{i}]", check_maturity=False)
            if "staging" in kernel_keys:
                from plait.data.staging import stager_list

                item.staging = stager_list(kernel_keys["staging"], f"executors[{i}].staging")
            if "working_dir" in kernel_keys:
                item.working_dir = _working_dir(kernel_keys["working_dir"], i)
        if not isinstance(item, Executor):
            raise ConfigError(
                f"executors[{i}] is a {type(item).__name__}, not an executor",
                hint='use an executor instance or a table with kind = "threads" ...',
            )
        built.append(item)
    labels = [e.label for e in built]
    for label in labels:
        if labels.count(label) > 1:
            raise DuplicateLabelError(
                f"executor label {label!r} is used {labels.count(label)} times"
            )
    return built


# --- the maturity gate (plait.maturity): development refused unless enabled, alpha warns ---


def _maturity_gate(
    component: object, kind: str | None, name: str | None, enabled: Iterable[str]
) -> None:
    from plait.maturity import check_component_allowed

    check_component_allowed(component, kind=kind, name=name, enabled=enabled)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    return [str(n) for n in value]


def _executors_allowed(instance: Config, attribute: AttrsField, value: list[Executor]) -> None:
    for executor in value:
        _maturity_gate(executor, "executor", None, instance.enable_development)


def _check_mode(instance: Config, attribute: AttrsField, value: Any) -> None:
    if value not in CHECKPOINT_MODES:
        raise ConfigError(
            f"checkpoint_mode={value!r} is not one of {CHECKPOINT_MODES}",
            hint="use 'task_exit', 'periodic', 'dfk_exit', 'manual' or None",
        )


def _paths(value: Any) -> list[str]:
    return [os.fspath(p) for p in value]


def _check_strategy(instance: Config, attribute: AttrsField, value: Any) -> None:
    from plait.scaling import STRATEGIES

    if value not in STRATEGIES:
        suggestion = did_you_mean(str(value), STRATEGIES)
        raise ConfigError(
            f"strategy={value!r} is not one of {', '.join(STRATEGIES)}{suggestion}",
            hint="'simple' scales out when tasks wait and in when all is idle; 'auto' also "
            "scales in single idle blocks; 'none' keeps init_blocks",
            option="strategy",
        )


def _policy(value: Any) -> str | Mapping[str, Any] | SelectionPolicy:
    check_policy(value)
    return typing.cast("str | Mapping[str, Any] | SelectionPolicy", value)


def _locations(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"data_locations must be a table of executor labels, got {value!r}",
            hint='write data_locations = {cluster = ["/scratch/", "globus://ENDPOINT/"]}',
            option="data_locations",
        )
    locations: dict[str, list[str]] = {}
    for label, prefixes in value.items():
        if isinstance(prefixes, str):
            prefixes = [prefixes]
        if not isinstance(prefixes, (list, tuple)) or not all(
            isinstance(p, str) and p for p in prefixes
        ):
            raise ConfigError(
                f"data_locations.{label}={prefixes!r} is not a list of path or URL prefixes",
                hint='e.g. ["/scratch/", "globus://ENDPOINT/"]',
                option="data_locations",
            )
        locations[str(label)] = list(prefixes)
    return locations


def check_data_locations(locations: Mapping[str, Any], labels: Iterable[str]) -> None:
    """Raise :class:`~plait.errors.ConfigError` when ``data_locations`` names an
    executor label not among ``labels``."""
    known = list(labels)
    for label in locations:
        if label not in known:
            raise ConfigError(
                f"data_locations names executor {label!r}; the executors are "
                f"{', '.join(known)}{did_you_mean(label, known)}",
                hint="key data_locations by the labels of the configured executors",
                option="data_locations",
            )


def _check_locations(instance: Config, attribute: AttrsField, value: dict[str, list[str]]) -> None:
    if instance.executors:
        check_data_locations(value, [e.label for e in instance.executors])


def _check_reporters(instance: Config, attribute: AttrsField, value: Any) -> None:
    for i, item in enumerate(value):
        if not isinstance(item, (str, Mapping, ErrorReporter)):
            raise ConfigError(
                f"error_reporters[{i}] is a {type(item).__name__}, not an error reporter",
                hint='use a name ("console"), a table with kind = "jsonlog" and its '
                "options, or an ErrorReporter instance",
                option="error_reporters",
            )


def _seconds_or_zero(value: Any) -> float:
    if value == 0 and not isinstance(value, bool):
        return 0.0
    return _period(value)


def _period(value: Any) -> float:
    try:
        seconds = parse_walltime(value)
    except PlaitError as exc:  # a resource-specification error elsewhere: here a setting
        raise ConfigError(exc.message, hint=exc.hint) from None
    assert seconds is not None
    return seconds


@attrs.define(kw_only=True)
class Config:
    """What ``plait.load`` needs. Every field has a working default.

    ``executors`` takes executor instances or tables with a ``kind`` key; left empty,
    the best installed local executor is used. ``retries`` re-runs a failed task up to
    that many times (``retry_handler(exception, task_info) -> cost`` changes the cost
    of a failure from 1). ``checkpoint_mode`` writes memoized results to
    ``run_dir/NNN/checkpoint`` (``task_exit``, ``periodic`` every ``checkpoint_period``,
    ``dfk_exit``, ``manual`` via ``dfk.checkpoint()``) and ``checkpoint_files`` reads
    them back. ``exit_mode`` is what leaving ``with plait.load(...)`` does without an
    exception: ``wait`` for tasks, or ``cleanup`` at once. ``error_reporters`` render each
    task's final failure: names (``"console"``), tables with a ``kind`` and the
    reporter's options, or instances. ``enable_development`` names
    the development-level components this configuration may use (they are refused
    otherwise; ``PLAIT_ENABLE_DEVELOPMENT=a,b`` does the same), see :mod:`plait.maturity`.
    Executors that run workers in blocks (capability ``scaling``) are scaled by
    ``strategy`` (``simple``, ``auto`` or ``none``, :mod:`plait.scaling.strategy`), a
    round every ``strategy_period`` seconds; blocks idle for ``max_idletime`` seconds
    are scaled in. ``app_log_limit`` is how many characters of
    :func:`~plait.app_logger` records a task attempt keeps (the last ones); 0 turns
    capturing off. ``apps`` sets, per app name, the ``executors``, ``walltime`` and
    ``resource_specification`` its calls use (:class:`~plait.config.apps.AppSettings`).
    ``executor_policy`` picks the executor of a task whose app may run on several:
    ``round-robin`` (in turn) or ``least-loaded`` (where it is expected to finish first),
    a table with ``name`` and the policy's options, or a
    :class:`~plait.scheduling.SelectionPolicy` instance; a ``plait_choose_executor`` hook
    answers first (:mod:`plait.scheduling.policies`). ``data_locations`` maps executor
    labels to the path and URL prefixes of the files they hold
    (``{"cluster": ["/scratch/"]}``), so ``least-loaded`` prefers running a task where its
    ``inputs`` are (:class:`~plait.scheduling.DataLocations`).
    """

    executors: list[Executor] = attrs.field(
        factory=list, converter=_executors, validator=_executors_allowed
    )
    run_dir: str = "runinfo"
    retries: int = attrs.field(default=0, validator=int_at_least(0))
    retry_handler: Callable[[BaseException, Any], float] | None = None
    app_cache: bool = True
    checkpoint_mode: str | None = attrs.field(default=None, validator=_check_mode)
    checkpoint_period: float = attrs.field(default=1800.0, converter=_period)
    checkpoint_files: list[str] = attrs.field(factory=list, converter=_paths)
    error_reporters: list[str | Mapping[str, Any] | ErrorReporter] = attrs.field(
        factory=lambda: ["console"], validator=_check_reporters
    )
    initialize_logging: bool = True
    log_level: str = "INFO"
    exit_mode: str = attrs.field(
        default="wait", validator=attrs.validators.in_(("wait", "cleanup"))
    )
    enable_development: list[str] = attrs.field(factory=list, converter=_names)
    strategy: str = attrs.field(default="simple", validator=_check_strategy)
    strategy_period: float = attrs.field(default=5.0, converter=_period)
    max_idletime: float = attrs.field(default=120.0, converter=_seconds_or_zero)
    app_log_limit: int = attrs.field(default=1024 * 1024, validator=int_at_least(0))
    apps: dict[str, AppSettings] = attrs.field(factory=dict, converter=app_settings)
    executor_policy: str | Mapping[str, Any] | SelectionPolicy = attrs.field(
        default="round-robin", converter=_policy
    )
    data_locations: dict[str, list[str]] = attrs.field(
        factory=dict, converter=_locations, validator=_check_locations
    )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Build from plain data (parsed TOML/YAML), rejecting unknown keys."""
        known = [a.name for a in attrs.fields(cls)]
        for key in data:
            if key not in known:
                raise unknown_key("the configuration", key, known)
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Config:
        """Read a TOML or YAML file (``executors`` tables with ``kind = ...``);
        ``plait config check FILE`` reports every problem of a file at once."""
        return cls.from_dict(read_config_file(path))


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The table a TOML (``.toml``) or YAML (``.yaml``, ``.yml``) config file holds."""
    file = Path(path)
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {file} cannot be read: {exc}") from exc
    if file.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {file} is not valid YAML: {exc}") from exc
        data = {} if data is None else data
    else:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib  # type: ignore[import-not-found,no-redef]
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {file} holds a {type(data).__name__}, not a table of settings",
            hint="write the settings as keys at the top level (retries = 2, [[executors]] ...)",
        )
    return data


def default_executors(enable_development: Iterable[str] = ()) -> list[Executor]:
    """The local default: one executor of the best installed kind (a development-level
    kind only when enabled)."""
    from plait.maturity import check_component_allowed, enabled_development
    from plait.plugins import registry

    executors = registry("executor")
    installed = [kind for kind in DEFAULT_EXECUTOR_KINDS if kind in executors]
    enabled = enabled_development(enable_development)
    allowed = [k for k in installed if executors.get(k).maturity != "development" or k in enabled]
    for kind in allowed or installed[:1]:
        cls = executors.get(kind)
        # plait's choice, not the user's: gated, but without the maturity warning
        check_component_allowed(
            cls, kind="executor", name=kind, enabled=enable_development, warn=False
        )
        executor = cls()
        assert isinstance(executor, Executor)
        return [executor]
    raise ConfigError(
        "no executor plugin is installed, so there is no local default",
        hint='pip install plait-threads  (or: pip install "plait[local]")',
    )
