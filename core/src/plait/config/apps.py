"""Per-app settings of a configuration (``[apps.NAME]`` tables): what changes from one
site to another (which executors, how long, how many nodes and ranks) set without
touching the workflow's code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from plait.errors import ConfigError, unknown_key
from plait.interfaces import ResourceSpecification
from plait.validators import walltime_seconds


def _labels(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    labels = (value,) if isinstance(value, str) else value
    if not isinstance(labels, (list, tuple)) or not all(isinstance(v, str) for v in labels):
        raise ConfigError(
            f"executors={value!r} is not a list of executor labels",
            hint='write executors = ["cluster"]',
            option="executors",
        )
    return tuple(labels)


def _resources(value: Any) -> ResourceSpecification | None:
    return None if value is None else ResourceSpecification.of(value)


@attrs.frozen(kw_only=True)
class AppSettings:
    """What a configuration sets for the apps of one name (the function's name).

    ``executors`` replaces the labels the app's decorator names; ``walltime`` and
    ``resource_specification`` replace the decorator's defaults. A call's own keyword
    arguments still win over both.
    """

    executors: tuple[str, ...] | None = attrs.field(default=None, converter=_labels)
    walltime: float | None = attrs.field(default=None, converter=walltime_seconds)
    resource_specification: ResourceSpecification | None = attrs.field(
        default=None, converter=_resources
    )

    @property
    def options(self) -> dict[str, Any]:
        """The app options these settings give (those set)."""
        options: dict[str, Any] = {}
        if self.walltime is not None:
            options["walltime"] = self.walltime
        if self.resource_specification is not None:
            options["resource_specification"] = self.resource_specification
        return options


def app_settings(value: Any) -> dict[str, AppSettings]:
    """The ``apps`` option of :class:`~plait.Config`: a table of tables, by app name."""
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"apps={value!r} is not a table of app names",
            hint='write [apps.simulate] with walltime = "01:00:00" ...',
            option="apps",
        )
    settings: dict[str, AppSettings] = {}
    for name, table in value.items():
        if isinstance(table, AppSettings):
            settings[str(name)] = table
        elif isinstance(table, Mapping):
            known = [f.name for f in attrs.fields(AppSettings)]
            for key in table:
                if key not in known:
                    raise unknown_key(f"apps.{name}", str(key), known)
            settings[str(name)] = AppSettings(**table)
        else:
            raise ConfigError(f"apps.{name} is not a table", option="apps")
    return settings
