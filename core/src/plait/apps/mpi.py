"""MPI tasks where they run: their nodes, their environment, and ``mpi_app`` ranks.

An executor that runs MPI tasks (:attr:`plait.interfaces.Executor.runs_mpi`) picks the
nodes of each one and runs it inside :func:`placed`, naming the nodes and its MPI
launcher. The task then asks the launcher how to start its ranks there
(:meth:`plait.interfaces.Launcher.mpi_launch`):

* a bash app gets the environment of :func:`mpi_environment`, so its command is
  ``$PLAIT_MPI_PREFIX ./app`` (Parsl's ``$PARSL_MPI_PREFIX`` works too);
* an ``mpi_app`` function is written to a directory under the worker's working
  directory (which the nodes of a multi-node task must share, as a cluster file
  system does) and run on every rank by ``python -m plait.apps.mpi_rank DIR``; each
  rank leaves its outcome there, and :func:`run_mpi_app` returns rank 0's value or
  raises :class:`~plait.errors.MpiRankError` naming every rank that failed. The records
  every rank logs to :func:`plait.app_logger` join the task's, each naming its rank.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from plait.errors import MpiLaunchError, MpiRankError
from plait.interfaces import Launcher
from plait.interfaces.types import MpiRequest

RANK_FILE = "rank-{:06d}"
"""Where rank N leaves its outcome and its app log records (None if it logged
nothing), in the task's directory."""
TASK_FILE = "task"
"""In the task's directory: the length of the function's payload (8 bytes, big-endian),
the function's payload, then the ``(args, kwargs)`` payload."""
SHOWN_TRACEBACKS = 4
"""Failing ranks whose whole traceback goes into the error message."""


@attrs.frozen
class MpiPlacement:
    """The nodes an executor gave one MPI task (one host name per node) and the
    launcher that starts its ranks there."""

    launcher: Launcher
    hosts: tuple[str, ...]


_placement: contextvars.ContextVar[MpiPlacement | None] = contextvars.ContextVar(
    "plait_mpi_placement", default=None
)


@contextlib.contextmanager
def placed(placement: MpiPlacement) -> Iterator[None]:
    """Run the MPI task called inside this block on ``placement``."""
    token = _placement.set(placement)
    try:
        yield
    finally:
        _placement.reset(token)


def task_launch(name: str, request: MpiRequest) -> tuple[list[str], dict[str, str]]:
    """The launch prefix (with the task's ``launcher_options``) and the environment for
    the MPI task ``name`` on the nodes it was placed on.

    The environment holds the launcher's variables and ``PLAIT_MPI_PREFIX`` (the words
    joined by spaces, for ``$PLAIT_MPI_PREFIX ./app``),
    ``PLAIT_NUM_RANKS``, ``PLAIT_NUM_NODES``, ``PLAIT_RANKS_PER_NODE`` and
    ``PLAIT_MPI_HOSTS`` (the nodes, comma-separated), each also under Parsl's name.
    """
    placement = _placement.get()
    if placement is None:
        raise MpiLaunchError(
            f"MPI task {name!r} ran without nodes: its executor does not place MPI tasks",
            hint="run MPI tasks on an executor in MPI mode, e.g. HighThroughputExecutor "
            'with mpi_launcher = "mpiexec"',
        )
    hosts = placement.hosts
    if len(hosts) < request.num_nodes:
        raise MpiLaunchError(
            f"MPI task {name!r} asks for {request.num_nodes} nodes but was placed on "
            f"{len(hosts)}: {', '.join(hosts)}"
        )
    hosts = hosts[: request.num_nodes]
    launch = placement.launcher.mpi_launch(request.num_ranks, request.ranks_per_node, hosts)
    prefix = [*launch.prefix, *request.launcher_options]
    values = {
        ("PLAIT_MPI_PREFIX", "PARSL_MPI_PREFIX"): " ".join(prefix),  # expanded unquoted
        ("PLAIT_NUM_RANKS", "PARSL_NUM_RANKS"): str(request.num_ranks),
        ("PLAIT_NUM_NODES", "PARSL_NUM_NODES"): str(request.num_nodes),
        ("PLAIT_RANKS_PER_NODE", "PARSL_RANKS_PER_NODE"): str(request.ranks_per_node),
        ("PLAIT_MPI_HOSTS", "PARSL_MPI_NODELIST"): ",".join(hosts),
    }
    env = dict(launch.env)
    for names, value in values.items():
        env.update(dict.fromkeys(names, value))
    return prefix, env


def mpi_environment(name: str, request: MpiRequest) -> dict[str, str]:
    """The environment a bash MPI task's command runs with (see :func:`task_launch`)."""
    return task_launch(name, request)[1]


def run_mpi_app(
    func: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    name: str,
    request: MpiRequest,
    walltime: float | None,
    stdout: tuple[str, str] | None,
    stderr: tuple[str, str] | None,
) -> Any:
    """Run ``func(*args, comm=COMM_WORLD, **kwargs)`` on every rank of one MPI job on the
    task's nodes; return rank 0's value. The app options in ``kwargs``
    (``resource_specification``, ``walltime`` ...) reach the function only when it
    declares them."""
    from plait.apps.applog import CapturedCall, current_capture
    from plait.apps.execution import run_process, tail
    from plait.serialization import SerializerChain, default_serializers

    prefix, env = task_launch(name, request)
    chain = SerializerChain(default_serializers(), "the MPI app's payload", check_maturity=False)
    capture = current_capture()
    function = chain.dumps_function(CapturedCall(func, capture.limit) if capture else func)
    arguments = chain.dumps_arguments(args, _without_options(func, kwargs))
    payload = len(function).to_bytes(8, "big") + function + arguments
    workdir = Path(tempfile.mkdtemp(prefix=".plait-mpi-", dir=_shared_dir()))
    try:
        (workdir / TASK_FILE).write_bytes(payload)
        command = shlex.join([*prefix, sys.executable, "-m", "plait.apps.mpi_rank", str(workdir)])
        code, _, err = run_process(command, f"MPI app {name!r}", walltime, stdout, stderr, env)
        return _collect(workdir, name, request.num_ranks, code, tail(stderr, err), chain)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _without_options(func: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    from plait.apps.decorators import OPTION_NAMES

    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return dict(kwargs)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(kwargs)
    return {k: v for k, v in kwargs.items() if k not in OPTION_NAMES or k in params}


def _shared_dir() -> str | None:
    """The worker's working directory when it can be written, else the temp directory."""
    cwd = os.getcwd()
    return cwd if os.access(cwd, os.W_OK) else None


def _collect(
    workdir: Path, name: str, ranks: int, code: int, err_tail: list[str], chain: Any
) -> Any:
    from plait.apps.applog import current_capture, merge

    outcomes: dict[int, tuple[Any, ...]] = {}
    logs = []
    for rank in range(ranks):
        path = workdir / RANK_FILE.format(rank)
        if path.exists():
            outcome, rank_logs = chain.loads(path.read_bytes())
            outcomes[rank] = outcome
            if rank_logs is not None:
                logs.append(rank_logs)
    capture = current_capture()
    merged = merge(logs)
    if capture is not None and merged is not None:
        capture.extend(merged)  # every rank's records, with the task's
    stderr = "; its stderr:" + "".join(f"\n    {line}" for line in err_tail) if err_tail else ""
    if not outcomes:
        raise MpiLaunchError(
            f"MPI app {name!r}: the MPI job exited with code {code} before any of its "
            f"{ranks} ranks ran{stderr}",
            exitcode=code,
            stderr_tail=err_tail,
        )
    failed = {rank: o for rank, o in outcomes.items() if o[0] == "raised"}
    missing = [rank for rank in range(ranks) if rank not in outcomes]
    if failed or missing or code != 0:
        raise _rank_error(name, ranks, code, failed, missing, stderr)
    return outcomes[0][1]


def _rank_error(
    name: str,
    ranks: int,
    code: int,
    failed: dict[int, tuple[Any, ...]],
    missing: list[int],
    stderr: str,
) -> MpiRankError:
    lines = [f"MPI app {name!r} failed on {len(failed) + len(missing)} of {ranks} ranks"]
    for shown, (rank, (_, kind, message, trace)) in enumerate(sorted(failed.items())):
        lines.append(f"  rank {rank}: {kind}: {message}")
        if shown < SHOWN_TRACEBACKS:
            lines.extend(f"    {line}" for line in trace.rstrip("\n").splitlines())
    if missing:
        lines.append(
            f"  ranks {_ranges(missing)} ended without a result: ended by the MPI runtime "
            f"after another rank failed, or killed (the MPI job exited with code {code})"
            f"{stderr}"
        )
    elif not failed:
        lines.append(f"  every rank finished, but the MPI job exited with code {code}{stderr}")
    return MpiRankError(
        "\n".join(lines),
        exitcode=code,
        failed_ranks=sorted(failed),
        missing_ranks=missing,
        rank_tracebacks={rank: o[3] for rank, o in failed.items()},
    )


def _ranges(numbers: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)
