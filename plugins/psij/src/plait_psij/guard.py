"""The guard: the bash script PSI/J runs for every block, around the block's own script.

PSI/J's executors neither end what a job's command leaves running in the background
(the ``local`` executor's job ends when its launcher exits) nor, for ``local``, enforce
a job's duration. The guard does both, the same way under every executor:

* it runs the block script in a process group of its own (``set -m``);
* when the script exits, it ends the rest of that group: SIGTERM, then SIGKILL after
  :data:`KILL_GRACE` seconds (PRV-012), and exits with the script's status;
* at ``walltime`` seconds it creates the *timeout marker* file and ends the group the
  same way (PRV-101), so that the provider can report ``TIMEOUT``;
* on SIGTERM, SIGINT or SIGHUP (a scheduler's cancel or time limit) it ends the group.

Arguments: ``guard.sh SCRIPT WALLTIME MARKER`` (``WALLTIME`` in whole seconds, empty for
none).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

KILL_GRACE = 5
"""Seconds between SIGTERM and SIGKILL when the guard ends a block's processes."""

NAME = "plait-psij-guard.sh"
"""The guard's file name in a provider's script directory."""

SCRIPT = f"""\
#!/bin/bash
# plait-psij block guard: runs a block script in its own process group and ends that
# group when the script exits, at the walltime (creating the marker file), or when
# signalled. Usage: {NAME} SCRIPT WALLTIME_SECONDS MARKER
script=$1 walltime=$2 marker=$3
exec 3>&-  # PSI/J's launcher log: a process that kept it open would stall PSI/J's reaper
set -m
bash "$script" &
group=$!
set +m

alive() {{
    ps -A -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ {{ f = 1 }} END {{ exit !f }}'
}}

end_group() {{
    kill -TERM -- "-$group" 2>/dev/null || return 0
    kill -CONT -- "-$group" 2>/dev/null
    local i
    for ((i = 0; i < {KILL_GRACE * 20}; i++)); do
        alive "$group" || return 0
        sleep 0.05
    done
    kill -KILL -- "-$group" 2>/dev/null
    return 0
}}

trap 'end_group; exit 143' TERM INT HUP
watchdog=  # sleeps with read -t: killing it leaves no sleep process behind
if [ -n "$walltime" ]; then
    ( trap - TERM; read -r -t "$walltime" <> <(:); : > "$marker"; kill -TERM $$ ) &
    watchdog=$!
fi
wait "$group"
status=$?
if [ -n "$watchdog" ]; then
    kill "$watchdog" 2>/dev/null
fi
end_group
exit "$status"
"""


def write(directory: Path) -> Path:
    """Write the guard to ``directory`` unless it is there already; its path."""
    path = directory / NAME
    if path.exists() and path.read_text() == SCRIPT:
        return path
    fd, temporary = tempfile.mkstemp(prefix=f".{NAME}.", dir=directory)
    with os.fdopen(fd, "w") as file:
        file.write(SCRIPT)
    os.replace(temporary, path)
    return path
