"""Numbered run directories: ``runinfo/000``, ``runinfo/001`` ..."""

from __future__ import annotations

from pathlib import Path


def make_run_dir(base: str | Path) -> Path:
    """Create and return the next numbered directory under ``base``, as an absolute
    path (like Parsl), so logs and checkpoints stay put if the script changes cwd."""
    root = Path(base).absolute()
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name) for p in root.iterdir() if p.name.isdigit()]
    n = max(numbers, default=-1) + 1
    while True:
        path = root / f"{n:03d}"
        try:
            path.mkdir()
        except FileExistsError:
            n += 1
            continue
        return path
