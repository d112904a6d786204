"""Running Slurm's client commands, with their failures as plait errors."""

from __future__ import annotations

import shutil
import subprocess

from plait.errors import SchedulerCommandError


def run(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a Slurm command; its result, whatever its exit status. A command that is not
    installed, or does not answer within ``timeout`` seconds, raises
    :class:`~plait.errors.SchedulerCommandError`."""
    if shutil.which(argv[0]) is None:
        raise SchedulerCommandError(
            f"{argv[0]!r} is not on PATH, so Slurm cannot be used from this host",
            hint="run plait on a Slurm submit (login) node, or add Slurm's bin directory to PATH",
            command=argv[0],
        )
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SchedulerCommandError(
            f"{' '.join(argv[:2])} ... did not answer within {timeout:g} s",
            hint="the Slurm controller may be overloaded; raise cmd_timeout",
            command=argv[0],
        ) from None


def check(argv: list[str], timeout: float) -> str:
    """Run a Slurm command that must succeed; its stdout. A non-zero exit status raises
    :class:`~plait.errors.SchedulerCommandError` quoting the command's stderr."""
    result = run(argv, timeout)
    if result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip() or "no output")[-2000:]
        raise SchedulerCommandError(
            f"{argv[0]} failed (exit status {result.returncode}): {said}",
            command=argv[0],
        )
    return result.stdout
