"""One rank of an ``mpi_app``: ``python -m plait.apps.mpi_rank DIR``.

Reads the function and its arguments from ``DIR`` (:data:`plait.apps.mpi.TASK_FILE`),
calls ``func(*args, comm=MPI.COMM_WORLD, **kwargs)`` and leaves its outcome in
``DIR/rank-NNNNNN``: ``("ok", value)`` (the value for rank 0 only) or ``("raised",
type, message, traceback)``, paired with the records the rank logged to
:func:`plait.app_logger` (``plait.apps.applog.AppLogs``, or None). A rank that
raised exits at once with status 1 (without ``MPI_Finalize``), so that the MPI runtime
ends the job rather than leave the other ranks waiting for it. Without mpi4py it exits
with status 3 and says what to install.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

NO_MPI4PY = 3


def _outcome(func: Any, args: Any, kwargs: Any, comm: Any) -> tuple[tuple[Any, ...], Any]:
    """The rank's outcome and its app log records (None when it logged nothing or
    records are not captured)."""
    from plait.apps.applog import CapturedCall, host, split_result, take_logs

    rank = comm.Get_rank()
    try:
        if isinstance(func, CapturedCall):
            value, logs = split_result(
                func.run(args, dict(comm=comm, **kwargs), f"{host()} rank {rank}")
            )
        else:
            value, logs = func(*args, comm=comm, **kwargs), None
    except BaseException as exc:  # every rank's failure is reported, whatever it is
        failed = ("raised", type(exc).__qualname__, str(exc), traceback.format_exc())
        return failed, take_logs(exc)
    return ("ok", value if rank == 0 else None), logs


def main(argv: list[str]) -> int:
    try:
        from mpi4py import MPI
    except ImportError as exc:
        print(
            f"plait: the ranks of an MPI app need mpi4py ({exc}); install it for "
            f"{sys.executable}: {sys.executable} -m pip install mpi4py",
            file=sys.stderr,
            flush=True,
        )
        return NO_MPI4PY
    from plait.apps.mpi import RANK_FILE, TASK_FILE
    from plait.errors import SerializationError
    from plait.serialization import SerializerChain, default_serializers

    workdir = Path(argv[0])
    comm = MPI.COMM_WORLD
    chain = SerializerChain(default_serializers(), "the MPI app's payload", check_maturity=False)
    payload = (workdir / TASK_FILE).read_bytes()
    split = 8 + int.from_bytes(payload[:8], "big")
    logs = None
    try:
        func = chain.loads(payload[8:split])
        args, kwargs = chain.loads(payload[split:])
        outcome, logs = _outcome(func, args, kwargs, comm)
    except BaseException as exc:
        outcome = ("raised", type(exc).__qualname__, str(exc), traceback.format_exc())
    try:
        data = chain.dumps((outcome, logs), "rank 0's return value")
    except SerializationError as exc:
        outcome = ("raised", type(exc).__qualname__, str(exc), "")
        data = chain.dumps((outcome, logs))
    target = workdir / RANK_FILE.format(comm.Get_rank())
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    os.replace(partial, target)
    if outcome[0] == "ok":
        return 0
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)  # without MPI_Finalize, which could wait for ranks blocked on this one


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
