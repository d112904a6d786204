"""Checkpoint files: memoized results written to the run directory and read back."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from plait.errors import CheckpointError

CHECKPOINT_DIR = "checkpoint"
CHECKPOINT_FILE = "tasks.pkl"


def write_checkpoint(run_dir: Path, items: Iterable[tuple[bytes, Any]]) -> int:
    """Append ``(memo key, result)`` records; return how many were written.

    Results that cannot be pickled are skipped (they stay memoized in memory).
    """
    folder = run_dir / CHECKPOINT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(folder / CHECKPOINT_FILE, "ab") as handle:
        for key, result in items:
            try:
                record = pickle.dumps({"hash": key, "result": result})
            except Exception:
                continue
            handle.write(record)
            written += 1
        handle.flush()
        os.fsync(handle.fileno())
    return written


def load_checkpoints(paths: Iterable[str | os.PathLike[str]]) -> dict[bytes, Any]:
    """Read checkpoint files (or run/checkpoint directories) into a memo table."""
    table: dict[bytes, Any] = {}
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            path = (
                path / CHECKPOINT_FILE
                if path.name == CHECKPOINT_DIR
                else (path / CHECKPOINT_DIR / CHECKPOINT_FILE)
            )
        if not path.exists():
            raise CheckpointError(f"checkpoint file {path} does not exist", path=str(path))
        with open(path, "rb") as handle:
            while True:
                start = handle.tell()
                try:
                    record = pickle.load(handle)
                except EOFError:
                    if handle.tell() == start:
                        break  # the clean end of the file
                    raise CheckpointError(  # a record cut short, e.g. by a crash
                        f"checkpoint file {path} is truncated: its last record starts at "
                        f"byte {start} and is incomplete",
                        path=str(path),
                    ) from None
                except Exception as exc:
                    raise CheckpointError(
                        f"checkpoint file {path} is corrupt at byte {handle.tell()}: "
                        f"{type(exc).__name__}: {exc}",
                        path=str(path),
                    ) from exc
                if not (isinstance(record, dict) and isinstance(record.get("hash"), bytes)):
                    raise CheckpointError(
                        f"checkpoint file {path} holds a record that is not a plait "
                        f"checkpoint entry: {type(record).__name__}",
                        path=str(path),
                    )
                table[record["hash"]] = record.get("result")
    return table


def get_all_checkpoints(run_dir: str = "runinfo") -> list[str]:
    """Every checkpoint directory under ``run_dir``, oldest run first."""
    base = Path(run_dir)
    if not base.is_dir():
        return []
    runs = sorted(p for p in base.iterdir() if p.name.isdigit())
    return [
        str(p / CHECKPOINT_DIR) for p in runs if (p / CHECKPOINT_DIR / CHECKPOINT_FILE).exists()
    ]


def get_last_checkpoint(run_dir: str = "runinfo") -> list[str]:
    """The newest run's checkpoint directory as a one-element list (or empty)."""
    return get_all_checkpoints(run_dir)[-1:]
