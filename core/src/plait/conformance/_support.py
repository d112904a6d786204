"""Helpers shared by the provider and launcher kits: processes, shell snippets, and the
integration-tier variants of kit classes."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., Any])

_BACKEND_FLAG = "_plait_needs_backend"


def needs_backend(test: F) -> F:
    """Mark a kit test as one that uses the component's backend (submits a block, runs
    a launch line); :func:`promote_backend_tests` moves such tests to the integration
    tier in a kit variant for external backends."""
    setattr(test, _BACKEND_FLAG, True)
    return test


def _in_integration_tier(test: Callable[..., None]) -> Callable[..., None]:
    """A copy of kit test ``test`` that checks the same requirement (and capability) in
    the ``integration`` tier."""
    marks = list(getattr(test, "pytestmark", []))
    [req] = [m for m in marks if m.name == "plait_requirement"]

    @functools.wraps(test)
    def copy(*args: Any, **kwargs: Any) -> None:
        test(*args, **kwargs)

    integration = pytest.mark.plait_requirement(
        *req.args, **{**req.kwargs, "tier": "integration"}
    ).mark
    kept = [m for m in marks if m.name != "plait_requirement"]
    setattr(copy, "pytestmark", [*kept, integration])  # noqa: B010 (a function attribute)
    return copy


def promote_backend_tests(variant: type[Any]) -> None:
    """Give kit class ``variant`` its own integration-tier copy of every inherited test
    marked with :func:`needs_backend` (the copies are defined in ``variant``, so the
    override guard treats them as the kit's tests)."""
    for klass in reversed(variant.__mro__[1:]):
        for name, value in vars(klass).items():
            if name.startswith("test") and getattr(value, _BACKEND_FLAG, False):
                setattr(variant, name, _in_integration_tier(value))


def sh_quote(text: str) -> str:
    """``text`` in bash double quotes (the kit's commands avoid single quotes, so that
    only the quoting test needs a launcher to carry them)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("`", "\\`") + '"'


def gate_loop(gate: Path, bound: float) -> str:
    """Bash that waits until file ``gate`` exists, for at most ``bound`` seconds."""
    rounds = int(bound / 0.05) + 1
    return (
        f'i=0; while [ ! -e {sh_quote(str(gate))} ] && [ "$i" -lt {rounds} ]; '
        "do sleep 0.05; i=$((i+1)); done"
    )


def count_files(directory: Path, prefix: str) -> int:
    """How many files in ``directory`` have a name starting with ``prefix``."""
    return sum(1 for p in directory.iterdir() if p.name.startswith(prefix))


def host_pids(path: Path) -> list[int]:
    """The pids listed in ``path`` (lines ``HOST PID``) that belong to this host."""
    if not path.exists():
        return []
    here = os.uname().nodename
    pids = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == here and parts[1].isdigit():
            pids.append(int(parts[1]))
    return pids
