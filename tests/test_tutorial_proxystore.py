"""docs/tutorials/proxystore.rst, run: large arrays pass between tasks through a
ProxyStore file store, on one site and between two sites sharing the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PIPELINE = Path(__file__).parents[1] / "examples" / "proxystore" / "pipeline.py"


def test_the_tutorial_pipeline(tmp_path: Path) -> None:
    store, mb = tmp_path / "shared-store", 20
    done = subprocess.run(
        [sys.executable, "-W", "ignore", str(PIPELINE), str(store), str(mb)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    elements = mb * 1024 * 1024 // 8
    assert out[0] == f"intra-site total {float(elements * 8)}"
    moved_mb = float(out[1].split()[3])
    assert moved_mb < 0.01 * 4 * mb, f"{moved_mb} MB went through the interchange"
    assert out[2] == f"inter-site total {float(elements * 3)}"
    assert list(store.iterdir()) == [], "evict=True leaves nothing in the store"
