"""``plait config check`` for plait-htex: what an executor's options alone do not show.

* workers that need more cores than the provider says a node has;
* an ``address`` or ``bind_address`` that does not resolve, or is not this host's (the
  interchange runs here, so managers could not reach it);
* MPI tasks of the configuration's apps (``[apps.NAME]`` ``resource_specification``)
  asking for more nodes than a block has;
* a ``worker_python`` of another Python version, or with another plait version (or
  none), than the submitting side's. It is run here, after the provider's
  ``worker_init``, when it is given as a path that exists on this host, and for the
  local provider, whose blocks run here; otherwise it is not checked.
"""

from __future__ import annotations

import errno
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import plait
from plait.config import Config
from plait.errors import (
    AddressError,
    ConfigError,
    ImpossibleResourcesError,
    PlaitError,
    VersionMismatchError,
)
from plait_htex.executor import HighThroughputExecutor

PROBE = "import sys, plait; print('%d.%d' % sys.version_info[:2], plait.__version__)"
PROBE_TIMEOUT = 30.0


def check_executor(executor: HighThroughputExecutor, config: Config | None) -> list[PlaitError]:
    """The problems of ``executor``'s configuration that only show together."""
    return [
        *_cores(executor),
        *_mpi_apps(executor, config),
        *_addresses(executor),
        *_worker_python(executor),
    ]


def _mpi_apps(executor: HighThroughputExecutor, config: Config | None) -> list[PlaitError]:
    if config is None or not executor.runs_mpi:
        return []
    nodes = executor.provider.nodes_per_block
    problems: list[PlaitError] = []
    for name, settings in config.apps.items():
        spec = settings.resource_specification
        request = spec.mpi() if spec is not None else None
        if request is None or executor.label not in (settings.executors or (executor.label,)):
            continue
        if request.num_nodes > nodes:
            problems.append(
                ImpossibleResourcesError(
                    f"app {name!r} asks for {request.num_ranks} MPI ranks on "
                    f"{request.num_nodes} nodes, but the blocks of executor "
                    f"{executor.label!r} have nodes_per_block={nodes}",
                    path=f"apps.{name}.resource_specification",
                )
            )
    return problems


def _cores(executor: HighThroughputExecutor) -> list[PlaitError]:
    cores = getattr(executor.provider, "cores_per_node", None)
    workers = executor.max_workers_per_node
    if cores is None or workers is None or workers * executor.cores_per_worker <= cores:
        return []
    return [
        ImpossibleResourcesError(
            f"max_workers_per_node={workers} workers of cores_per_worker="
            f"{executor.cores_per_worker:g} need {workers * executor.cores_per_worker:g} "
            f"cores, but the provider's nodes have cores_per_node={cores}",
            option="max_workers_per_node",
        )
    ]


def _addresses(executor: HighThroughputExecutor) -> list[PlaitError]:
    problems: list[PlaitError] = []
    for option, value in (("address", executor.address), ("bind_address", executor.bind_address)):
        if value is None or value in ("*", "0.0.0.0", "::"):
            continue
        reason = _not_local(value)
        if reason:
            problems.append(AddressError(f"{option}={value!r} {reason}", option=option))
    if executor.address is None and not executor._local_blocks():
        host = socket.gethostname()
        reason = _not_local(host)
        if reason:
            problems.append(
                AddressError(
                    f"address is unset, so nodes connect to this host's name {host!r}, "
                    f"which {reason}",
                    hint="set address to a name or IP of this host that the nodes can reach",
                    option="address",
                )
            )
    return problems


def _not_local(host: str) -> str:
    """Why ``host`` cannot be listened on here, or ``""``."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return f"does not resolve ({exc})"
    for family, _, _, _, sockaddr in infos:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((sockaddr[0], 0))
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    continue
                raise
            return ""
    return (
        "resolves to "
        + ", ".join(sorted({str(i[4][0]) for i in infos}))
        + (", not an address of this host")
    )


def _worker_python(executor: HighThroughputExecutor) -> list[PlaitError]:
    python = executor.worker_python
    local = executor._local_blocks()
    if python == sys.executable or not (local or Path(python).is_file()):
        return []
    init = getattr(executor.provider, "worker_init", "") or ""
    script = f"{init}\n{python} -c {shlex.quote(PROBE)}"
    try:
        proc = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired:
        return [ConfigError(f"worker_python {python!r} did not answer in {PROBE_TIMEOUT:g} s")]
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) != 2:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return [
            ConfigError(
                f"worker_python {python!r} cannot run plait here: {last}",
                hint="install plait (and the plugins) into that Python, or point "
                "worker_python at one that has it",
                option="worker_python",
            )
        ]
    version, plait_version = words
    mine = "{}.{}".format(*sys.version_info[:2])
    if (version, plait_version) == (mine, plait.__version__):
        return []
    return [
        VersionMismatchError(
            f"worker_python {python!r} is Python {version} with plait {plait_version}; "
            f"this side runs Python {mine} with plait {plait.__version__}",
            option="worker_python",
        )
    ]
