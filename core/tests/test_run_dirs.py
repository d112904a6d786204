"""Each kernel gets the next numbered run directory (``runinfo/000``, ``001`` ...)
with its own ``plait.log``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import plait
from plait import python_app


@python_app
def inc(x: int) -> int:
    return x + 1


def test_numbered_run_directories(load: Any, run_dir: Path) -> None:
    seen = []
    for i in range(3):
        kernel = load()
        assert Path(kernel.run_dir) == run_dir / f"{i:03d}"
        assert Path(kernel.run_dir).is_dir()
        assert inc(i).result(timeout=30) == i + 1
        seen.append(kernel.run_dir)
        plait.clear()
    assert sorted(p.name for p in run_dir.iterdir()) == ["000", "001", "002"]


def test_numbering_continues_after_existing_runs(load: Any, run_dir: Path) -> None:
    (run_dir / "007").mkdir(parents=True)
    (run_dir / "notes").mkdir()
    kernel = load()
    assert Path(kernel.run_dir).name == "008"


def test_each_run_has_its_own_log(load: Any, run_dir: Path) -> None:
    first = load()
    inc(1).result(timeout=30)
    logging.getLogger("plait").info("marker for the first run")
    plait.clear()
    second = load()
    logging.getLogger("plait").info("marker for the second run")
    plait.clear()

    log1 = (Path(first.run_dir) / "plait.log").read_text()
    log2 = (Path(second.run_dir) / "plait.log").read_text()
    assert "plait kernel started" in log1 and str(first.run_dir) in log1
    assert "marker for the first run" in log1 and "marker for the second run" not in log1
    assert "marker for the second run" in log2 and "marker for the first run" not in log2
    assert "cleaned up" in log1


def test_failures_are_logged(load: Any) -> None:
    kernel = load()

    @python_app
    def broken() -> None:
        raise ValueError("logged failure")

    broken().exception(timeout=30)
    plait.clear()
    log = (Path(kernel.run_dir) / "plait.log").read_text()
    assert "logged failure" in log


def test_logging_can_be_turned_off(load: Any) -> None:
    kernel = load(initialize_logging=False)
    plait.clear()
    assert not (Path(kernel.run_dir) / "plait.log").exists()


def test_log_handler_removed_after_cleanup(load: Any) -> None:
    before = list(logging.getLogger("plait").handlers)
    load()
    plait.clear()
    assert logging.getLogger("plait").handlers == before


def test_bad_log_level(run_dir: Path) -> None:
    import pytest

    with pytest.raises(plait.errors.ConfigError, match="log_level"):
        plait.load(plait.Config(run_dir=str(run_dir), log_level="chatty"))
