"""maturity.yaml lists exactly the registered first-party components, truthfully.

A stop-gap until `plait maturity check` (issue 4) validates the file fully.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from plait.interfaces import MATURITY_LEVELS
from plait.plugins import get_plugin_system
from plait.registry import KIND_BASES

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("plait", "plait_threads")


def _entries() -> list[dict[str, Any]]:
    data = yaml.safe_load((ROOT / "maturity.yaml").read_text())
    return list(data["components"])


def _registered() -> dict[tuple[str, str], type[Any]]:
    system = get_plugin_system()
    found = {}
    for kind in KIND_BASES:
        for name, cls in system.registry(kind).items():
            if cls.__module__.split(".")[0] in FIRST_PARTY:
                found[(kind, name)] = cls
    return found


def test_every_registered_component_is_listed_and_vice_versa() -> None:
    listed = {(e["kind"], e["name"]) for e in _entries()}
    assert listed == set(_registered())


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: f"{e['kind']}:{e['name']}")
def test_entry_matches_the_class(entry: dict[str, Any]) -> None:
    cls = _registered()[(entry["kind"], entry["name"])]
    assert entry["level"] in MATURITY_LEVELS
    assert cls.maturity == entry["level"], "class-declared level differs from maturity.yaml"
    assert sorted(cls.capabilities) == sorted(entry["capabilities"])
    package = entry["package"].replace("-", "_")
    assert cls.__module__.split(".")[0] == package
    for rule, status in entry["rules"].items():
        if isinstance(status, dict):
            assert status["status"] == "exempt" and status["comment"], rule
        else:
            assert status in ("done", "todo"), rule
