"""Per-app settings of a configuration (``[apps.NAME]``): executors, walltime and
resource specification set without touching the workflow's code; a call's own
arguments still win."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import python_app
from plait.errors import AppTimeout, CapabilityError, ConfigError, UnknownKeyError
from plait_threads import ThreadPoolExecutor


@python_app(executors=["a"])
def where() -> str:
    return threading.current_thread().name


@python_app
def busy(seconds: float, walltime: float | None = None) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # runs bytecode, so a walltime can interrupt it
        time.sleep(0.01)
    return "done"


def executors() -> list[ThreadPoolExecutor]:
    return [ThreadPoolExecutor(label="a"), ThreadPoolExecutor(label="b")]


def test_settings_move_an_app_to_other_executors(load: Any) -> None:
    load(executors=executors())
    assert where().result(timeout=30).startswith("plait-a")
    plait.clear()
    load(executors=executors(), apps={"where": {"executors": ["b"]}})
    assert where().result(timeout=30).startswith("plait-b")


def test_a_walltime_from_the_settings_stops_the_task(load: Any) -> None:
    load(apps={"busy": {"walltime": 0.2}})
    with pytest.raises(AppTimeout):
        busy(30).result(timeout=30)


def test_the_calls_own_arguments_win_over_the_settings(load: Any) -> None:
    load(apps={"busy": {"walltime": 0.2}})
    assert busy(0.5, walltime=30).result(timeout=30) == "done"


def test_a_resource_specification_from_the_settings_reaches_the_task(load: Any) -> None:
    load(apps={"busy": {"resource_specification": {"cores": 2}}})
    with pytest.raises(CapabilityError, match="resource_spec"):
        busy(0)


def test_settings_are_checked_when_the_config_is_built(tmp_path: Path) -> None:
    with pytest.raises(UnknownKeyError, match="did you mean 'walltime'"):
        plait.Config(apps={"busy": {"walltme": 3}})
    with pytest.raises(ConfigError, match="not a table"):
        plait.Config(apps={"busy": 3})
    config = tmp_path / "plait.toml"
    config.write_text('[apps.busy]\nwalltime = "00:00:02"\nexecutors = "b"\n')
    settings = plait.Config.from_file(config).apps["busy"]
    assert (settings.walltime, settings.executors) == (2.0, ("b",))
