"""The hosts of a block's nodes, as the manager of a block in MPI mode finds them.

From the batch job the manager runs in (first found): Slurm's ``SLURM_JOB_NODELIST``
(expanded by ``scontrol show hostnames``), PBS's ``PBS_NODEFILE``, LSF's
``LSB_MCPU_HOSTS`` or ``LSB_HOSTS``, Flux's ``flux hostlist --expand local``; else this
host. Each host counts once, in order; the list is cut or repeated to the block's
``nodes_per_block`` entries, so that a block always has the nodes it was sized with.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
from collections.abc import Mapping

COMMAND_TIMEOUT = 30.0


def _run(*command: str) -> list[str]:
    if shutil.which(command[0]) is None:
        return []
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return done.stdout.split() if done.returncode == 0 else []


def scheduler_hosts(environ: Mapping[str, str] | None = None) -> list[str]:
    """The hosts the batch job's environment names, each once, in order (may be empty)."""
    env = os.environ if environ is None else environ
    found: list[str] = []
    slurm = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
    if slurm:
        found = _run("scontrol", "show", "hostnames", slurm)
    if not found and env.get("PBS_NODEFILE"):
        try:
            with open(env["PBS_NODEFILE"]) as nodefile:
                found = nodefile.read().split()
        except OSError:
            found = []
    if not found and env.get("LSB_MCPU_HOSTS"):
        found = env["LSB_MCPU_HOSTS"].split()[::2]  # "host1 ncpus1 host2 ncpus2 ..."
    if not found and env.get("LSB_HOSTS"):
        found = env["LSB_HOSTS"].split()
    if not found and (env.get("FLUX_JOB_ID") or env.get("FLUX_URI")):
        found = _run("flux", "hostlist", "--expand", "local")
    return list(dict.fromkeys(found))


def block_hosts(nodes_per_block: int, environ: Mapping[str, str] | None = None) -> list[str]:
    """``nodes_per_block`` host names for the block this process runs in."""
    hosts = scheduler_hosts(environ) or [socket.gethostname()]
    return list(itertools.islice(itertools.cycle(hosts), nodes_per_block))
