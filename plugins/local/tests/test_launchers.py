"""The generic launchers beyond the kit: exact lines, ranks, exit statuses, embedding in a
script with ``set -eu``, and option errors."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from typeguard import suppress_type_checks

from plait.errors import ConfigError
from plait.interfaces import Launcher
from plait_local import SimpleLauncher, SingleNodeLauncher, WrappedLauncher


def run(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_simple_line_is_the_command() -> None:
    command = "echo 'a  b' \"$HOME\"\n# comment"
    assert SimpleLauncher()(command, 1, 1) == command
    assert SimpleLauncher()("  ", 1, 1) == ":"


def test_wrapped_line_passes_the_command_as_one_argument(tmp_path: Path) -> None:
    launcher = WrappedLauncher(prepend="  env 'X=a b'  ")
    command = "echo \"$X\" '$X'; exit 3"
    line = launcher(command, 1, 1)
    assert line == "env 'X=a b' bash -c 'echo \"$X\" '\"'\"'$X'\"'\"'; exit 3'"
    result = run(line, tmp_path)
    assert (result.returncode, result.stdout) == (3, "a b $X\n")
    assert WrappedLauncher()("true", 1, 1) == "bash -c true"


@pytest.mark.parametrize("launcher", [SimpleLauncher(), WrappedLauncher(prepend="env")])
def test_single_copy_launchers_say_so(
    launcher: Launcher, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="plait_local"):
        line = launcher(f"mktemp {tmp_path}/copy.XXXXXX", 2, 3)
    assert "starts one copy of the command, not tasks_per_node * nodes_per_block = 6" in (
        caplog.text
    )
    assert run(line, tmp_path).returncode == 0
    assert len(list(tmp_path.glob("copy.*"))) == 1


def test_single_node_ranks_and_copies(tmp_path: Path) -> None:
    line = SingleNodeLauncher()(f'echo "$PLAIT_WORKER_RANK" > {tmp_path}/rank.$$', 2, 3)
    result = run(line, tmp_path)
    assert result.returncode == 0, result.stderr
    ranks = sorted(int(p.read_text()) for p in tmp_path.glob("rank.*"))
    assert ranks == [0, 1, 2, 3, 4, 5]


def test_single_node_exit_status_is_the_first_failing_copy(tmp_path: Path) -> None:
    # rank 0 succeeds, rank 1 exits 5 late, rank 2 exits 7 at once
    command = 'case "$PLAIT_WORKER_RANK" in 0) exit 0;; 1) sleep 0.3; exit 5;; *) exit 7;; esac'
    result = run(SingleNodeLauncher()(command, 3, 1), tmp_path)
    assert result.returncode == 5


def test_single_node_waits_for_every_copy_inside_a_strict_script(tmp_path: Path) -> None:
    """A provider's worker_init may `set -euo pipefail`: the line still waits for every
    copy after one fails, and still reports the failure."""
    done = tmp_path / "done"
    command = f'if [ "$PLAIT_WORKER_RANK" = 0 ]; then exit 4; fi; sleep 0.5; touch {done}'
    line = SingleNodeLauncher()(command, 2, 1)
    result = run(f"set -euo pipefail\n{line}\necho not reached", tmp_path)
    assert result.returncode == 4
    assert done.exists(), "the line ended before the slow copy"
    assert "not reached" not in result.stdout


def test_single_node_line_leaves_the_calling_shell_alone(tmp_path: Path) -> None:
    """The fan-out runs in a subshell: its variables do not leak into the script."""
    line = SingleNodeLauncher()("true", 1, 1)
    result = run(f'{line}\necho "[${{_plait_status-unset}}] [${{_plait_pids-unset}}]"', tmp_path)
    assert result.stdout == "[unset] [unset]\n"


@pytest.mark.parametrize("cls", [SimpleLauncher, SingleNodeLauncher, WrappedLauncher])
@pytest.mark.parametrize(
    ("tasks_per_node", "nodes_per_block", "name"),
    [(0, 1, "tasks_per_node"), (True, 1, "tasks_per_node"), (1, -2, "nodes_per_block")],
)
def test_bad_counts(
    cls: type[Launcher], tasks_per_node: int, nodes_per_block: int, name: str
) -> None:
    with suppress_type_checks(), pytest.raises(ConfigError) as info:
        cls()("true", tasks_per_node, nodes_per_block)
    assert name in str(info.value) and cls.__name__ in str(info.value)


@pytest.mark.parametrize("prepend", ["docker run img\nrm -rf /", 3])
def test_bad_prepend(prepend: object) -> None:
    with suppress_type_checks(), pytest.raises(ConfigError) as info:
        WrappedLauncher(prepend=prepend)  # type: ignore[arg-type]
    assert "prepend" in str(info.value)


def test_launchers_are_immutable_and_comparable() -> None:
    assert WrappedLauncher(prepend="env") == WrappedLauncher(prepend="env")
    with pytest.raises(AttributeError):
        WrappedLauncher().prepend = "env"  # type: ignore[misc]
