"""The versions both sides of a task must share, and how they are compared."""

from __future__ import annotations

import functools
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version

MUST_MATCH = ("python", "plait", "plait-globus-compute")
"""What must be equal on the submitting side and the endpoint's workers: Python as
major.minor (serialized code depends on it), plait and this plugin exactly (the task
wrappers they exchange)."""

REPORTED = (*MUST_MATCH, "globus-compute-sdk", "dill")


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def here() -> dict[str, str]:
    """This process's versions of everything in :data:`REPORTED`."""
    return dict(_here())


@functools.cache
def _here() -> tuple[tuple[str, str], ...]:
    found = [("python", ".".join(platform.python_version_tuple()[:2]))]
    found += [(name, _version(name)) for name in REPORTED[1:]]
    return tuple(found)


def differences(submit_side: Mapping[str, str], endpoint: Mapping[str, str]) -> list[str]:
    """The :data:`MUST_MATCH` entries that differ, as ``"python 3.11 here, 3.12 there"``
    (here: the submitting side)."""
    return [
        f"{name} {submit_side.get(name, '?')} here, {endpoint.get(name, '?')} on the endpoint"
        for name in MUST_MATCH
        if submit_side.get(name) != endpoint.get(name)
    ]


def describe(found: Mapping[str, str]) -> str:
    """``"python 3.11, plait 0.1.0, ..."``."""
    return ", ".join(f"{name} {found.get(name, '?')}" for name in REPORTED)
