"""The hosts a launch line places its ranks on, found when the line runs.

The line sets and exports ``PLAIT_MPI_HOSTS``: a comma-separated list with one host per
node of the block. With ``hosts = "auto"`` the list is read from the batch scheduler's
environment of the job that runs the line (first found of Slurm's
``$SLURM_JOB_NODELIST`` expanded by ``scontrol show hostnames``, PBS's
``$PBS_NODEFILE``, LSF's ``$LSB_MCPU_HOSTS`` or ``$LSB_HOSTS``, Flux's ``flux hostlist
local``), else it is ``localhost``; given hosts are used as they are. Hosts appear once
each, in order; when there are fewer than the block's nodes the list starts again
from the first, so the MPI puts the extra ranks on the hosts there are (LNC-002 lets a
launcher run all copies on the first node).
"""

from __future__ import annotations

import shlex

HOSTS_VARIABLE = "PLAIT_MPI_HOSTS"

_SCHEDULER_HOSTS = """\
  { if [ -n "${SLURM_JOB_NODELIST:-${SLURM_NODELIST:-}}" ] && command -v scontrol >/dev/null; then
      scontrol show hostnames "${SLURM_JOB_NODELIST:-${SLURM_NODELIST:-}}"
    elif [ -n "${PBS_NODEFILE:-}" ] && [ -r "$PBS_NODEFILE" ]; then
      cat "$PBS_NODEFILE"
    elif [ -n "${LSB_MCPU_HOSTS:-}" ]; then
      printf '%s %s\\n' $LSB_MCPU_HOSTS
    elif [ -n "${LSB_HOSTS:-}" ]; then
      printf '%s\\n' $LSB_HOSTS
    elif [ -n "${FLUX_JOB_ID:-}${FLUX_URI:-}" ] && command -v flux >/dev/null; then
      flux hostlist --expand local | tr ' ' '\\n'
    fi || true; } 2>/dev/null"""

_ONE_PER_NODE = (
    "awk -v n={nodes} 'NF && !($1 in seen) {{ seen[$1]; hosts[k++] = $1 }} "
    'END {{ if (k == 0) hosts[k++] = "localhost"; '
    'for (i = 0; i < n; i++) printf "%s%s", (i ? "," : ""), hosts[i % k]; print "" }}\''
)


def hosts_assignment(hosts: str | tuple[str, ...], nodes_per_block: int) -> str:
    """Bash lines that set and export ``PLAIT_MPI_HOSTS`` for a block of
    ``nodes_per_block`` nodes: from the scheduler's environment when ``hosts`` is
    ``"auto"``, else from the given host names."""
    if hosts == "auto":
        source = _SCHEDULER_HOSTS
    else:
        source = "  printf '%s\\n' " + " ".join(shlex.quote(host) for host in hosts)
    pick = _ONE_PER_NODE.format(nodes=nodes_per_block)
    return f"{HOSTS_VARIABLE}=$(\n{source} | {pick}\n)\nexport {HOSTS_VARIABLE}"
