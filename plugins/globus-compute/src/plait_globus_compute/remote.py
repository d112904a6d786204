"""What runs on the endpoint's workers: the one function the executor registers.

Every task calls :func:`run` with the kernel's task wrapper (a
:class:`~plait.apps.applog.CapturedCall` or :class:`~plait.apps.execution.TaskCall`),
its arguments and the submitting side's versions; an app with its own ``serializers``
sends the wrapper and arguments encoded by them (:class:`Encoded`). :func:`run` never
raises: it returns an outcome tuple, so that the exception a task raised comes back as
itself (Globus Compute would otherwise turn it into text). The outcomes are
``("ok", value)``, ``("encoded", bytes)`` (the value encoded with the app's
serializers), ``("raised", Failure)`` and ``("mismatch", versions, host)`` when the
worker's Python, plait or plugin version differs from the submitting side's (the task is
not run).

MPI tasks run inside the allocation a ``GlobusMPIEngine`` made for them: its
``PARSL_MPI_PREFIX`` (the launcher command with the task's ranks, hosts and
``launcher_options``) and ``PARSL_MPI_NODELIST`` become the task's
:class:`~plait.apps.mpi.MpiPlacement`, so ``$PLAIT_MPI_PREFIX`` in a bash app and the
ranks of an ``mpi_app`` start exactly as on plait's own MPI executors.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import traceback
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from plait.apps.applog import AppLogs, host, take_logs
from plait.apps.mpi import MpiPlacement, placed
from plait.errors import MpiLaunchError
from plait.interfaces import Launcher, MpiLaunch
from plait_globus_compute import versions

OK, ENCODED, RAISED, MISMATCH = "ok", "encoded", "raised", "mismatch"


@attrs.frozen
class Failure:
    """A task's exception as it travels back: the exception itself when it survives a
    round trip through Globus Compute's serializer (else None), its type name,
    message and traceback text, where it ran, and the app log records it carried."""

    exc: BaseException | None
    type_name: str
    message: str
    traceback: str
    host: str
    pid: int
    logs: AppLogs | None = None

    @classmethod
    def capture(cls, exc: BaseException) -> Failure:
        """Record ``exc``, being handled on this worker."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        logs = take_logs(exc)
        name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        carried = exc if _travels(exc) else None
        return cls(carried, name, str(exc), text, host(), os.getpid(), logs)


def _travels(exc: BaseException) -> bool:
    """True when ``exc`` survives serialization and deserialization by the endpoint's
    default result serializer."""
    from globus_compute_sdk.serialize import ComputeSerializer

    serializer = ComputeSerializer()
    try:
        serializer.deserialize(serializer.serialize(exc))
    except Exception:
        return False
    return True


class EndpointMpiLauncher(Launcher):
    """Starts an MPI task's ranks with the prefix ``GlobusMPIEngine`` composed for it."""

    capabilities = frozenset({"mpi"})

    def __init__(self, prefix: Sequence[str]) -> None:
        self.prefix = tuple(prefix)

    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        return command  # the engine starts the workers; this launcher only starts ranks

    def mpi_launch(self, num_ranks: int, ranks_per_node: int, hosts: Sequence[str]) -> MpiLaunch:
        return MpiLaunch(self.prefix)


@contextlib.contextmanager
def _placement(call: Any) -> Iterator[None]:
    """Run an MPI task (a TaskCall with an MPI layout) on the nodes the endpoint's
    ``GlobusMPIEngine`` gave it; other tasks as they are."""
    request = getattr(call, "mpi", None)
    if request is None:
        yield
        return
    prefix = os.environ.get("PARSL_MPI_PREFIX", "")
    nodes = [n for n in os.environ.get("PARSL_MPI_NODELIST", "").split(",") if n]
    if not prefix or not nodes:
        raise MpiLaunchError(
            f"MPI task {getattr(call, 'name', '?')!r} ran on {host()} without an MPI "
            "allocation: the endpoint's engine set no PARSL_MPI_PREFIX / PARSL_MPI_NODELIST",
            hint="submit MPI tasks to an endpoint whose engine is GlobusMPIEngine, and set "
            "mpi = true only on executors that submit to such an endpoint",
        )
    launcher = EndpointMpiLauncher(shlex.split(prefix))
    with placed(MpiPlacement(launcher, tuple(nodes))):
        yield


@attrs.frozen
class Encoded:
    """A task of an app with its own ``serializers``: the kernel's wrapper and the
    arguments encoded by that chain (``spec`` rebuilds it on the worker)."""

    spec: Mapping[str, Any]
    function: bytes
    arguments: bytes


def run(
    call: Any, args: Sequence[Any], kwargs: Mapping[str, Any], submit_side: Mapping[str, str]
) -> tuple[Any, ...]:
    """Run one task (``call(*args, **kwargs)``, or the task ``call`` encodes when it is
    :class:`Encoded`); return its outcome (see the module's docstring)."""
    endpoint = versions.here()
    if versions.differences(submit_side, endpoint):
        return (MISMATCH, endpoint, host())
    try:
        if isinstance(call, Encoded):
            from plait.serialization import SerializerChain

            chain = SerializerChain.from_spec(call.spec)
            func = chain.loads(call.function)
            args, kwargs = chain.loads(call.arguments)
            with _placement(func):
                return (ENCODED, chain.dumps(func(*args, **kwargs), "the task's result"))
        with _placement(call):
            value = call(*args, **kwargs)
    except BaseException as exc:  # whatever the task raised goes back as data
        return (RAISED, Failure.capture(exc))
    return (OK, value)
