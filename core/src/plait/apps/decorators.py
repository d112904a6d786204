"""``python_app``, ``bash_app``, ``join_app`` and ``mpi_app``: turn functions into apps."""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from plait.apps.futures import AppFuture

if TYPE_CHECKING:
    from plait.kernel.dfk import DataFlowKernel

AppKind = Literal["python", "bash", "join", "mpi"]

OPTION_NAMES = (
    "walltime",
    "inputs",
    "outputs",
    "stdout",
    "stderr",
    "resource_specification",
    "parsl_resource_specification",
)
"""Keyword arguments the kernel reads from each call (or the function's defaults)."""


class App:
    """A decorated function: calling it submits a task and returns an AppFuture."""

    def __init__(
        self,
        func: Callable[..., Any],
        kind: AppKind,
        *,
        executors: str | Sequence[str] = "all",
        cache: bool = False,
        ignore_for_cache: Sequence[str] | None = None,
        data_flow_kernel: DataFlowKernel | None = None,
        serializers: Sequence[Any] | None = None,
    ) -> None:
        functools.update_wrapper(self, func)
        if kind == "mpi":
            _check_takes_comm(func)
        self.func = func
        self.kind: AppKind = kind
        self.executors: str | tuple[str, ...] = (
            executors if isinstance(executors, str) else tuple(executors)
        )
        self.cache = cache
        self.ignore_for_cache = frozenset(ignore_for_cache or ())
        self.data_flow_kernel = data_flow_kernel
        self.serializers: tuple[Any, ...] = tuple(serializers or ())
        self.name = getattr(func, "__name__", type(func).__name__)
        self.option_defaults = _option_defaults(func)
        self._identity: bytes | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> AppFuture:
        if self.data_flow_kernel is not None:
            kernel = self.data_flow_kernel
        else:
            from plait.kernel.current import dfk

            kernel = dfk()
        return kernel.submit(self, args, kwargs)

    @property
    def identity(self) -> bytes:
        """A digest of the function's name and source, the base of memo keys."""
        if self._identity is None:
            try:
                body = inspect.getsource(self.func).encode()
            except (OSError, TypeError):
                code = getattr(self.func, "__code__", None)
                body = code.co_code if code is not None else repr(self.func).encode()
            qualname = f"{self.func.__module__}.{getattr(self.func, '__qualname__', self.name)}"
            self._identity = hashlib.sha256(qualname.encode() + b"\0" + body).digest()
        return self._identity

    def __repr__(self) -> str:
        return f"<{self.kind}_app {self.name}>"


def _check_takes_comm(func: Callable[..., Any]) -> None:
    """An ``mpi_app`` function gets each rank's communicator as ``comm``."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    comm = params.get("comm")
    if takes_kwargs or (comm is not None and comm.kind is not inspect.Parameter.POSITIONAL_ONLY):
        return
    from plait.errors import ConfigError

    raise ConfigError(
        f"mpi_app {getattr(func, '__qualname__', func)!r} has no parameter 'comm'",
        hint="add a keyword parameter comm: every rank calls the function with "
        "comm=MPI.COMM_WORLD, e.g. def app(n, *, comm): ...",
    )


def _option_defaults(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}
    return {
        name: p.default
        for name, p in params.items()
        if name in OPTION_NAMES and p.default is not inspect.Parameter.empty
    }


def _decorator(kind: AppKind) -> Any:
    @overload
    def decorate(function: Callable[..., Any]) -> App: ...

    @overload
    def decorate(
        function: None = None,
        *,
        executors: str | Sequence[str] = "all",
        cache: bool = False,
        ignore_for_cache: Sequence[str] | None = None,
        data_flow_kernel: DataFlowKernel | None = None,
        serializers: Sequence[Any] | None = None,
    ) -> Callable[[Callable[..., Any]], App]: ...

    def decorate(
        function: Callable[..., Any] | None = None,
        *,
        executors: str | Sequence[str] = "all",
        cache: bool = False,
        ignore_for_cache: Sequence[str] | None = None,
        data_flow_kernel: DataFlowKernel | None = None,
        serializers: Sequence[Any] | None = None,
    ) -> App | Callable[[Callable[..., Any]], App]:
        def wrap(func: Callable[..., Any]) -> App:
            return App(
                func,
                kind,
                executors=executors,
                cache=cache,
                ignore_for_cache=ignore_for_cache,
                data_flow_kernel=data_flow_kernel,
                serializers=serializers,
            )

        return wrap(function) if function is not None else wrap

    decorate.__name__ = f"{kind}_app"
    decorate.__qualname__ = f"{kind}_app"
    decorate.__doc__ = _DOCS[kind]
    return decorate


_COMMON = """

    Use bare (``@{k}_app``) or with options (``@{k}_app(executors=["htex"], cache=True)``):
    ``executors`` limits which executor labels may run it, ``cache`` turns on
    memoization (``ignore_for_cache`` names keyword arguments left out of the memo key),
    ``serializers`` replaces the executor's serializer list for this app's function,
    arguments and result (executors that serialize honour it).
    Calls accept ``inputs``, ``outputs``, ``walltime``, ``stdout``/``stderr`` (bash)
    and ``resource_specification`` as keyword arguments or as function defaults.
"""
_DOCS = {
    "python": "Make a Python function an app that runs on an executor." + _COMMON,
    "bash": "Make a function returning a command line an app that runs that command;"
    " the future's result is its exit code (0), a non-zero exit raises BashExitFailure." + _COMMON,
    "join": "Make a function that calls other apps and returns their future (or a list of"
    " futures) an app whose result is theirs. It runs in the submitting process." + _COMMON,
    "mpi": "Make a Python function an app that runs on every rank of one MPI job, on an"
    " executor that runs MPI tasks (HighThroughputExecutor with mpi_launcher). Each rank"
    " calls it with ``comm`` (mpi4py's ``MPI.COMM_WORLD``) besides the call's arguments;"
    " the result is rank 0's return value, and ranks that raise fail the task with"
    " MpiRankError naming each. ``resource_specification`` sets ``num_nodes``,"
    " ``ranks_per_node``, ``num_ranks`` and ``launcher_options`` (default: one rank)." + _COMMON,
}
for _kind in _DOCS:
    _DOCS[_kind] = _DOCS[_kind].replace("{k}", _kind)

python_app: Any = _decorator("python")
bash_app: Any = _decorator("bash")
join_app: Any = _decorator("join")
mpi_app: Any = _decorator("mpi")
