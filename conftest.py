"""Fixtures every test directory of the repository shares: the real single-node Slurm
that ``tests/infra/slurm.sh`` starts, for the tests of the integration tier."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import attrs
import pytest

SLURM_SCRIPT = Path(__file__).parent / "tests" / "infra" / "slurm.sh"


@attrs.frozen
class SlurmCluster:
    """What the tests know of the Slurm ``slurm.sh`` configured."""

    node: str
    partition: str = "debug"
    """The default partition: the whole node."""
    account_partition: str = "accounts"
    """A partition that only ``allowed_account`` may use."""
    allowed_account: str = "plait"


def _tier(item: pytest.Item) -> str:
    mark = item.get_closest_marker("plait_requirement")
    return str(mark.kwargs.get("tier", "core")) if mark is not None else "core"


@pytest.fixture(autouse=True)
def _slurm_for_integration_tier(request: pytest.FixtureRequest) -> None:
    """A conformance class with ``needs_slurm = True`` gets the Slurm started for its
    integration-tier tests (its core-tier tests do not need it)."""
    if getattr(request.cls, "needs_slurm", False) and _tier(request.node) == "integration":
        request.getfixturevalue("slurm")


@pytest.fixture(scope="session")
def slurm() -> SlurmCluster:
    """Start (or reuse) the single-node Slurm; skip, with the reason, when it cannot."""
    try:
        run = subprocess.run(
            ["bash", str(SLURM_SCRIPT), "start"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"the test Slurm could not start: {exc}")
    if run.returncode != 0:
        pytest.skip(f"the test Slurm could not start: {run.stderr.strip()[-2000:]}")
    return SlurmCluster(node=socket.gethostname().split(".")[0])
