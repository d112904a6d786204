"""``SrunMPILauncher.mpi_launch``: the exact ``srun`` argument lists, its errors, and, in a
real Slurm (integration tier), MPI jobs started from inside a job step of a job with
fewer CPUs than ranks, as an MPI app's worker in a Slurm block starts them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from plait.errors import ConfigError, MpiLaunchError
from plait.interfaces import MpiLaunch
from plait_slurm import SrunLauncher, SrunMPILauncher

FIXED = ("--kill-on-bad-exit=1", "--overlap", "--overcommit")

RANKS = """\
import sys
from mpi4py import MPI
c = MPI.COMM_WORLD
open(f"{sys.argv[1]}/rank.{c.Get_rank()}", "w").write(f"{c.Get_rank()} {c.Get_size()}")
"""


@pytest.fixture
def srun_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in ``srun`` first on PATH (mpi_launch only looks for it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 99\n")
    (bin_dir / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")


@pytest.mark.parametrize(
    ("num_ranks", "ranks_per_node", "hosts", "placement"),
    [
        (4, 2, ["a", "b"], ("--ntasks=4", "--ntasks-per-node=2", "--nodes=2", "--nodelist=a,b")),
        (4, 2, ["h", "h"], ("--ntasks=4", "--ntasks-per-node=4", "--nodes=1", "--nodelist=h")),
        (1, 1, ["n1"], ("--ntasks=1", "--ntasks-per-node=1", "--nodes=1", "--nodelist=n1")),
        # only the hosts the ranks fill
        (2, 2, ["a", "b"], ("--ntasks=2", "--ntasks-per-node=2", "--nodes=1", "--nodelist=a")),
        (
            5,
            2,
            ["a", "b", "c"],
            ("--ntasks=5", "--ntasks-per-node=2", "--nodes=3", "--nodelist=a,b,c"),
        ),
    ],
)
def test_mpi_launch_argv(
    srun_on_path: None,
    num_ranks: int,
    ranks_per_node: int,
    hosts: list[str],
    placement: tuple[str, ...],
) -> None:
    launch = SrunMPILauncher().mpi_launch(num_ranks, ranks_per_node, hosts)
    assert launch == MpiLaunch(("srun", *placement, "--mpi=pmi2", *FIXED), {})


def test_mpi_launch_with_mpi_and_overrides(srun_on_path: None) -> None:
    launcher = SrunMPILauncher(mpi="pmix", overrides="--cpu-bind=none --export='ALL,A=x y'")
    assert launcher.mpi_launch(2, 2, ["n1"]).prefix == (
        *("srun", "--ntasks=2", "--ntasks-per-node=2", "--nodes=1", "--nodelist=n1"),
        *("--mpi=pmix", *FIXED, "--cpu-bind=none", "--export=ALL,A=x y"),
    )


@pytest.mark.parametrize(
    ("args", "option"),
    [((0, 1, ["a"]), "num_ranks"), ((1, 0, ["a"]), "ranks_per_node"), ((1, 1, []), "hosts")],
)
def test_mpi_launch_checks_its_arguments(
    monkeypatch: pytest.MonkeyPatch, args: tuple[Any, ...], option: str
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError) as caught:
        SrunMPILauncher().mpi_launch(*args)
    assert caught.value.details["option"] == option


def test_mpi_launch_without_srun(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MpiLaunchError) as caught:
        SrunMPILauncher().mpi_launch(1, 1, ["a"])
    assert caught.value.code == "PLT-218"
    assert "srun" in caught.value.message and "/nonexistent" in caught.value.message


@pytest.mark.parametrize("cls", [SrunLauncher, SrunMPILauncher])
def test_overrides_must_split_into_words(cls: type[Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        cls(overrides="--export='ALL")
    assert caught.value.details["option"] == "overrides"


@pytest.mark.plait_integration
@pytest.mark.parametrize("from_a_step", [False, True], ids=["in-the-job", "in-a-job-step"])
def test_mpi_job_in_a_one_cpu_job(slurm: Any, tmp_path: Path, from_a_step: bool) -> None:
    """4 ranks from a job of one CPU (--overcommit), also from inside the job's step
    that holds that CPU, as a worker of a block started by srun (--overlap)."""
    pytest.importorskip("mpi4py")
    worker = (
        "import subprocess, sys\n"
        "from plait_slurm import SrunMPILauncher\n"
        f"launch = SrunMPILauncher().mpi_launch(4, 4, [{slurm.node!r}])\n"
        f"program = [sys.executable, '-c', {RANKS!r}, {str(tmp_path)!r}]\n"
        "sys.exit(subprocess.run([*launch.prefix, *program], timeout=120).returncode)\n"
    )
    step = ["srun", "--ntasks=1"] if from_a_step else []
    result = subprocess.run(
        ["salloc", "--quiet", "--nodes=1", "--ntasks=1", *step, sys.executable, "-c", worker],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pairs = sorted(tuple(map(int, p.read_text().split())) for p in tmp_path.glob("rank.*"))
    assert pairs == [(rank, 4) for rank in range(4)]
