"""HighThroughputExecutor: tasks flow to worker pools in provider blocks over ZeroMQ.

::

    submit side (this process)        interchange process         each node of a block
    HighThroughputExecutor.submit -->  priority queue, batches -->  N workers
    futures completed  <-------------- results, straight from the workers
                       <--  events  --                      <--  manager (watches them)

The executor encodes each task once (a :class:`plait.serialization.SerializerChain`)
into a frame with a small header (:mod:`plait_htex.protocol`); the interchange forwards
frames in batches without decoding them. Blocks come from the provider and are scaled
by the kernel's scaling loop through the :class:`~plait.interfaces.ScalingExecutor`
methods.

Failures never lose a task: a task whose worker dies fails with
:class:`~plait.errors.WorkerLostError`, one whose manager goes silent for
``heartbeat_threshold`` with :class:`~plait.errors.ManagerLostError`, one whose block
ended under it with :class:`~plait.errors.BlockLostError`, every outstanding task with
:class:`~plait.errors.InterchangeLostError` if the interchange dies, and with
:class:`~plait.errors.BlockFailureError` once ``max_block_failures`` blocks failed in a
row; the kernel retries them when ``Config.retries`` allows.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, ClassVar

import attrs

from plait.apps.applog import LoggedResult, attach_logs
from plait.concurrency import cancel_and_notify
from plait.config.config import component_option, component_spec
from plait.errors import (
    BlockLostError,
    ConfigError,
    ExecutorFailureError,
    ExecutorUnavailableError,
    ManagerLostError,
    PlaitError,
    RemoteTaskError,
    ResourceSpecificationError,
    SerializationError,
    WorkerLostError,
)
from plait.interfaces import (
    Capacity,
    ExecutionProvider,
    JobState,
    Launcher,
    LightFuture,
    ScalingExecutor,
    TaskDescription,
)
from plait.plugins import registry
from plait.scaling import BlockLoad, BlockSet, ExecutorLoad
from plait.scaling.blocks import describe
from plait.serialization import SerializerChain, default_serializers
from plait.validators import int_at_least, positive_number
from plait_htex import protocol
from plait_htex.client import InterchangeClient
from plait_htex.curve import make_keys
from plait_htex.remote import RemoteFailure, RemoteTraceback

logger = logging.getLogger(__name__)

_PROVIDER_ENDED = frozenset({JobState.CANCELLED, JobState.TIMEOUT, JobState.MISSING})
"""Block states that mean the provider or scheduler ended the block."""

START_TIMEOUT = 30.0
"""Seconds the interchange has to start."""
STOP_TIMEOUT = 10.0
"""Seconds the interchange has to stop before it is killed."""


_to_provider = component_option(
    "provider",
    ExecutionProvider,
    "HighThroughputExecutor",
    "provider",
    example='provider = {kind = "local", max_blocks = 2}',
)


def _provider(value: ExecutionProvider | str | Mapping[str, Any]) -> ExecutionProvider:
    """A provider instance, the name of an installed provider, or a table with ``kind``."""
    provider: ExecutionProvider = _to_provider(value)
    return provider


def _mpi_launcher(value: Launcher | str | Mapping[str, Any] | None) -> Launcher | None:
    """None, or an MPI launcher: an instance, a name such as ``"mpiexec"``, or a table."""
    if value is None:
        return None
    launcher: Launcher = _to_launcher(value)
    return launcher


_to_launcher = component_option(
    "launcher",
    Launcher,
    "HighThroughputExecutor",
    "mpi_launcher",
    example='mpi_launcher = "mpiexec" or mpi_launcher = {kind = "mpirun", bind = "core"}',
)


def _default_provider() -> ExecutionProvider:
    """The local provider, chosen by plait rather than the user: no maturity warning."""
    provider = registry("provider").get("local")()
    assert isinstance(provider, ExecutionProvider)
    return provider


@attrs.define(eq=False)
class HighThroughputExecutor(ScalingExecutor):
    """Runs tasks on pools of worker processes in blocks obtained from ``provider``.

    Options (Parsl's names where Parsl has the option):

    * ``provider``: where blocks run (an instance, a name such as ``"local"``, or a table
      with ``kind``); its ``init_blocks``, ``min_blocks``, ``max_blocks`` and
      ``parallelism`` bound the scaling.
    * ``max_workers_per_node``, ``cores_per_worker``, ``mem_per_worker`` (MB): each
      node's manager starts as many workers as fit all three (at least one).
    * ``prefetch_capacity``: batches each worker may hold beyond the one it runs (and,
      for short tasks, the one after it), so workers do not wait for the next task.
    * ``heartbeat_period`` / ``heartbeat_threshold`` (seconds): managers and interchange
      exchange heartbeats; silence for the threshold means the peer is lost.
    * ``drain_period`` (seconds): a manager takes no new tasks that long after it
      started and exits once idle (set it below the provider's walltime).
    * ``address`` (what managers and workers connect to; default loopback for the local
      provider, else this host's name), ``bind_address`` (default loopback for the local
      provider, else every interface), ``worker_port_range`` (the interchange's port
      and the port results come back to).
    * ``worker_python``: the Python that runs managers and workers on the nodes.
    * ``serializers``: ordered serializers (names, tables with ``kind`` and options, or
      instances); each object goes with the first that can carry it (default
      ``pickle``, which refuses what another process could not load, then
      ``cloudpickle`` when installed). An app may name its own
      (``@python_app(serializers=[...])``), which also encode its results.
    * ``encrypted``: CurveZMQ on every socket, with keys generated for each run.
    * ``max_block_failures``: blocks failing in a row before the executor gives up.
    * ``connect_timeout``: seconds a manager tries to reach the interchange.
    * ``mpi_launcher``: MPI mode (a launcher with the ``mpi`` capability, e.g.
      ``"mpiexec"``, ``"mpirun"``, ``"srun-mpi"``). Each block runs one manager, which
      finds the hosts of the block's nodes and starts one worker per node
      (``max_workers_per_node`` to change); MPI tasks (``mpi_app``, or bash apps whose
      resource specification names ``num_nodes``/``num_ranks``) wait until the nodes
      they ask for are free, then start their ranks there through the launcher; other
      tasks run on the workers as usual. The provider's launcher must not fan out over
      the block's nodes (use ``"simple"``). A task asking for more nodes than a block
      has (``nodes_per_block``) fails at submit.

    Task ``priority`` (in the resource specification) orders queued tasks, lower first.
    """

    label: str = "htex"
    provider: ExecutionProvider = attrs.field(factory=_default_provider, converter=_provider)
    max_workers_per_node: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(int_at_least(1))
    )
    cores_per_worker: float = attrs.field(default=1.0, validator=positive_number())
    mem_per_worker: float | None = attrs.field(
        default=None, validator=positive_number(optional=True)
    )
    prefetch_capacity: int = attrs.field(default=0, validator=int_at_least(0))
    heartbeat_period: float = attrs.field(default=2.0, validator=positive_number())
    heartbeat_threshold: float = attrs.field(default=4.0, validator=positive_number())
    drain_period: float | None = attrs.field(default=None, validator=positive_number(optional=True))
    address: str | None = None
    bind_address: str | None = None
    worker_port_range: tuple[int, int] = (0, 0)
    worker_python: str = sys.executable
    serializers: list[Any] = attrs.field(factory=default_serializers)
    encrypted: bool = False
    max_block_failures: int = attrs.field(default=3, validator=int_at_least(1))
    connect_timeout: float = attrs.field(default=10.0, validator=positive_number())
    mpi_launcher: Launcher | None = attrs.field(default=None, converter=_mpi_launcher)

    capabilities: ClassVar[frozenset[str]] = frozenset({"cancel", "scaling"})
    maturity: ClassVar[str] = "alpha"

    _chain: SerializerChain = attrs.field(init=False, repr=False)
    _app_chains: dict[int, tuple[Any, SerializerChain, bytes]] = attrs.field(
        factory=dict, init=False, repr=False
    )
    _client: InterchangeClient | None = attrs.field(default=None, init=False, repr=False)
    _blocks: BlockSet | None = attrs.field(default=None, init=False, repr=False)
    _tasks: dict[int, tuple[LightFuture[Any], TaskDescription]] = attrs.field(
        factory=dict, init=False, repr=False
    )
    _keys: Any = attrs.field(factory=lambda: itertools.count(1), init=False, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _failure: PlaitError | None = attrs.field(default=None, init=False, repr=False)
    _open: bool = attrs.field(default=False, init=False, repr=False)
    _run_dir: Path | None = attrs.field(default=None, init=False, repr=False)
    _curve_dir: Path | None = attrs.field(default=None, init=False, repr=False)
    _workers_seen: int = attrs.field(default=0, init=False, repr=False)
    _pools: dict[str, dict[tuple[str, str], int]] = attrs.field(
        factory=dict, init=False, repr=False
    )
    """Workers of each registered manager, by block and (host, pid): for ``capacity``."""
    _pools_lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _port: int = attrs.field(default=0, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.heartbeat_threshold < self.heartbeat_period:
            raise ConfigError(
                f"HighThroughputExecutor: heartbeat_threshold={self.heartbeat_threshold} is "
                f"shorter than heartbeat_period={self.heartbeat_period}",
                hint="make heartbeat_threshold at least twice heartbeat_period",
                option="heartbeat_threshold",
            )
        if self.mpi_launcher is not None:
            self._check_mpi_mode(self.mpi_launcher)
        self._chain = SerializerChain(
            self.serializers,
            "HighThroughputExecutor.serializers",
            check_maturity=self.serializers != default_serializers(),  # plait's choice
        )

    def _check_mpi_mode(self, launcher: Launcher) -> None:
        if not launcher.has_capability("mpi"):
            raise ConfigError(
                f"HighThroughputExecutor.mpi_launcher: {type(launcher).__name__} cannot start "
                "MPI jobs (no 'mpi' capability)",
                hint='use "mpiexec" (MPICH, Intel MPI), "mpirun" (Open MPI) or "srun-mpi" '
                "(Slurm); pip install plait-mpi for the first two",
                option="mpi_launcher",
            )
        block_launcher = getattr(self.provider, "launcher", None)
        nodes = self.provider.nodes_per_block
        if nodes > 1 and block_launcher is not None and block_launcher.has_capability("fan_out"):
            raise ConfigError(
                f"HighThroughputExecutor in MPI mode: the provider's launcher "
                f"{type(block_launcher).__name__} would start a manager on each of the "
                f"block's {nodes} nodes; MPI mode runs one manager per block",
                hint='set the provider\'s launcher = "simple"',
                option="mpi_launcher",
            )

    @property
    def runs_mpi(self) -> bool:
        """True in MPI mode (``mpi_launcher`` set)."""
        return self.mpi_launcher is not None

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, run_dir: Path) -> None:
        """Start the interchange and the provider's ``init_blocks`` blocks."""
        self._run_dir = Path(run_dir) / "htex" / self.label
        self._run_dir.mkdir(parents=True, exist_ok=True)
        if self.encrypted:
            self._curve_dir = make_keys(self._run_dir / "curve")
        if self.provider.script_dir is None:
            self.provider.script_dir = str(self._run_dir / "blocks")
        low, high = self.worker_port_range
        interchange_args = [
            "--bind-address", self._bind_address(),
            "--port-range", f"{low}:{high}",
            "--heartbeat-period", str(self.heartbeat_period),
            "--heartbeat-threshold", str(self.heartbeat_threshold),
            "--prefetch", str(self.prefetch_capacity),
        ]  # fmt: skip
        client = InterchangeClient(
            self.label,
            self._run_dir,
            interchange_args,
            self._bind_address(),
            self.worker_port_range,
            self._curve_dir,
            self._on_results,
            self._on_event,
            self._fail_everything,
        )
        self._client = client
        self._port = client.start(START_TIMEOUT)
        self._blocks = BlockSet(
            self.provider,
            self.label,
            self._launch_command,
            tasks_per_node=1,
            max_failures=self.max_block_failures,
            on_failure=self._fail_everything,
        )
        self._open = True
        self._blocks.scale_out(self.provider.init_blocks)

    def _local_blocks(self) -> bool:
        providers = registry("provider")
        return "local" in providers and isinstance(self.provider, providers.get("local"))

    def _address(self) -> str:
        """What nodes connect to: ``address``, else loopback when blocks run on this
        host (the ``local`` provider), else this host's name."""
        if self.address is not None:
            return self.address
        return "127.0.0.1" if self._local_blocks() else socket.gethostname()

    def _bind_address(self) -> str:
        """Where the interchange and the result socket listen: ``bind_address``, else
        loopback for local blocks, else every interface."""
        if self.bind_address is not None:
            return self.bind_address
        return "127.0.0.1" if self._local_blocks() else "0.0.0.0"

    def _launch_command(self, block_id: str) -> str:
        assert self._client is not None
        parts = [
            self.worker_python, "-m", "plait_htex.manager",
            "--interchange", f"tcp://{self._address()}:{self._port}",
            "--results", f"tcp://{self._address()}:{self._client.results_port}",
            "--block", block_id,
            "--cores-per-worker", str(self.cores_per_worker),
            "--heartbeat-period", str(self.heartbeat_period),
            "--heartbeat-threshold", str(self.heartbeat_threshold),
            "--connect-timeout", str(self.connect_timeout),
            "--serializers", json.dumps(self._chain.spec()),
        ]  # fmt: skip
        if self.max_workers_per_node is not None:
            parts += ["--max-workers", str(self.max_workers_per_node)]
        if self.mem_per_worker is not None:
            parts += ["--mem-per-worker", str(self.mem_per_worker)]
        if self.drain_period is not None:
            parts += ["--drain-period", str(self.drain_period)]
        if self._curve_dir is not None:
            parts += ["--curve-dir", str(self._curve_dir)]
        if self.mpi_launcher is not None:
            spec = component_spec("launcher", self.mpi_launcher)
            parts += ["--mpi-nodes", str(self.provider.nodes_per_block)]
            parts += ["--mpi-launcher", json.dumps(spec)]
        return shlex.join(parts)

    def shutdown(self, wait: bool = True) -> None:
        """Let outstanding tasks finish (``wait``), then stop the interchange, cancel every
        block, and fail whatever is still outstanding."""
        if wait:
            while self._open and self._failure is None:
                with self._lock:
                    pending = [f for f, _ in self._tasks.values()]
                if not pending:
                    break
                for future in pending:
                    future.exception()
        with self._lock:
            was_open, self._open = self._open, False
        if self._client is not None:
            self._client.stop(STOP_TIMEOUT)
        if self._blocks is not None:
            self._blocks.cancel_all()
        if was_open or self._tasks:
            self._fail_all(ExecutorUnavailableError(
                f"executor {self.label!r} shut down before the task finished",
                executor=self.label,
            ))  # fmt: skip

    # --- tasks --------------------------------------------------------------------------

    def submit(
        self,
        task: TaskDescription,
        func: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> Future[Any]:
        """Encode the task and queue it for the interchange; never waits for it."""
        if not self._open or self._client is None:
            raise self._failure or ExecutorUnavailableError(
                f"executor {self.label!r} is not running (start it, or it has shut down)",
                executor=self.label,
            )
        nodes = self._nodes_for(task)
        chain, spec = self._chain_for(task.serializers)
        function = chain.dumps_function(func)
        arguments = chain.dumps_arguments(args, kwargs)
        key = next(self._keys)
        frame = b"".join(
            (
                protocol.TASK_HEADER.pack(key, task.resources.priority or 0, nodes),
                protocol.FUNC_LENGTH.pack(len(function)),
                function,
                protocol.FUNC_LENGTH.pack(len(spec)),
                spec,
                arguments,
            )
        )
        future: LightFuture[Any] = LightFuture()
        with self._lock:
            if self._failure is not None:
                raise self._failure
            self._tasks[key] = (future, task)
        future.htex_key = key  # type: ignore[attr-defined]
        self._client.send_task(frame)
        return future

    def _nodes_for(self, task: TaskDescription) -> int:
        """The nodes an MPI task needs (0 for other tasks); more than a block has is a
        :class:`~plait.errors.ResourceSpecificationError`."""
        request = task.resources.mpi()
        if request is None or self.mpi_launcher is None:
            return 0
        nodes = self.provider.nodes_per_block
        if request.num_nodes > nodes:
            raise ResourceSpecificationError(
                f"task {task.name!r} asks for num_nodes={request.num_nodes}, but the blocks "
                f"of executor {self.label!r} have {nodes} (its provider's nodes_per_block)",
                hint=f"ask for at most {nodes} nodes, or raise the provider's nodes_per_block",
            )
        return request.num_nodes

    def _chain_for(self, serializers: tuple[Any, ...]) -> tuple[SerializerChain, bytes]:
        """The executor's chain, or an app's own (``@python_app(serializers=...)``) with
        its spec for the worker; built once per app."""
        if not serializers:
            return self._chain, b""
        cached = self._app_chains.get(id(serializers))
        if cached is None or cached[0] is not serializers:
            chain = SerializerChain(serializers, "the app's serializers")
            spec = json.dumps(chain.spec()).encode()
            cached = self._app_chains[id(serializers)] = (serializers, chain, spec)
        return cached[1], cached[2]

    def cancel(self, future: Future[Any]) -> bool:
        """Cancel a task still queued in the interchange (EXE-101)."""
        key = getattr(future, "htex_key", None)
        if key is None or self._client is None or not self._open or future.done():
            return False
        try:
            removed = bool(self._client.command("cancel", key=key))
        except Exception:
            return False
        if removed:
            with self._lock:
                entry = self._tasks.pop(key, None)
            if entry is not None:
                cancel_and_notify(entry[0])
        return removed

    def outstanding(self) -> int:
        """Tasks submitted and not finished."""
        return len(self._tasks)

    # --- from the receiver thread ----------------------------------------------------------

    def _on_results(self, frames: list[Any]) -> None:
        chain, tasks, header = self._chain, self._tasks, protocol.RESULT_HEADER
        for frame in frames:
            buffer = frame.buffer
            key, outcome = header.unpack_from(buffer)
            entry = tasks.pop(key, None)
            if entry is None:
                continue  # cancelled or already failed
            future, desc = entry
            value: Any
            try:
                if outcome == protocol.LOGGED:
                    value = self._logged(chain, buffer, header.size)
                else:
                    value = chain.loads(buffer[header.size :])
            except Exception as exc:
                future.set_exception(
                    SerializationError(
                        f"the result of task {desc.task_id} ({desc.name}) could not be "
                        f"decoded on the submit side: {type(exc).__name__}: {exc}",
                        executor=self.label,
                    )
                )
                continue
            if outcome != protocol.RAISED:
                future.set_result(value)
            else:
                future.set_exception(self._remote_exception(value, desc))

    @staticmethod
    def _logged(chain: SerializerChain, buffer: memoryview, start: int) -> LoggedResult:
        """The value and app log records of a ``LOGGED`` result frame, as the kernel's
        task wrapper returned them."""
        size = protocol.FUNC_LENGTH.unpack_from(buffer, start)[0]
        start += protocol.FUNC_LENGTH.size
        logs = chain.loads(buffer[start : start + size])
        return LoggedResult(chain.loads(buffer[start + size :]), logs)

    def _remote_exception(self, failure: RemoteFailure, desc: TaskDescription) -> BaseException:
        cause = RemoteTraceback(failure, self.label, desc.attempt + 1)
        exc = failure.exc
        if exc is None:
            place = failure.where
            exc = RemoteTaskError(
                f"{failure.type_name}: {failure.message}",
                executor=self.label,
                host=place.host,
                block=place.block,
                worker=place.worker,
                attempt=desc.attempt,
            )
        exc.__cause__ = cause
        if failure.logs is not None:
            attach_logs(exc, failure.logs)
        return exc

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "pool_ready" and self._blocks is not None:
            self._blocks.mark_connected(str(event["block"]))
        elif kind == "registered":
            workers = int(event.get("workers", 1))
            self._workers_seen = max(self._workers_seen, workers)
            manager = (str(event.get("host")), str(event.get("pid")))
            with self._pools_lock:
                self._pools.setdefault(str(event.get("block")), {})[manager] = workers
            logger.info(
                "%s: manager on %s (block %s) registered with %s workers",
                self.label, event.get("host"), event.get("block"), event.get("workers"),
            )  # fmt: skip
        elif kind == "lost":
            if event["cause"] != "worker":
                manager = (str(event.get("host")), str(event.get("pid")))
                with self._pools_lock:
                    self._pools.get(str(event["block"]), {}).pop(manager, None)
            self._tasks_lost(event)

    def _tasks_lost(self, event: dict[str, Any]) -> None:
        """Fail the tasks of a lost worker, manager or block with the matching error.

        A manager that went silent because its block was cancelled or reached its
        walltime is reported as the block's end (PLT-212); a manager that died on its
        own, whatever its block's state, as a lost manager (PLT-211)."""
        cause, block, host = event["cause"], str(event["block"]), event.get("host", "?")
        record = self._blocks.get(block) if self._blocks is not None else None
        if cause != "worker" and record is not None and self._blocks is not None:
            self._blocks.poll()
            ended_by_provider = record.ended and record.status.state in _PROVIDER_ENDED
            cause = "block" if ended_by_provider else "manager"
        for task in event["tasks"]:
            with self._lock:
                entry = self._tasks.pop(int(task["key"]), None)
            if entry is None:
                continue
            future, desc = entry
            details = {
                "executor": self.label,
                "host": host,
                "block": block,
                "attempt": desc.attempt,
                "task": desc.task_id,
            }
            at = f"task {desc.task_id} ({desc.name}, attempt {desc.attempt + 1}) on {host}"
            block_text = f": {describe(record, self.label)}" if record and record.ended else ""
            error: ExecutorFailureError
            if cause == "worker":
                details["worker"] = task.get("worker")
                error = WorkerLostError(
                    f"the worker process {task.get('worker')} (pid {task.get('pid')}) of "
                    f"block {block} running {at} {task.get('status', 'died')}",
                    **details,
                )
            elif cause == "block":
                assert record is not None
                error = BlockLostError(
                    f"{at}{block_text}", state=record.status.state.name, **details
                )
            else:
                job = f" (job {record.job_id})" if record is not None else ""
                error = ManagerLostError(
                    f"the manager (pid {event.get('pid')}) of block {block}{job} running {at} "
                    f"was lost ({event.get('reason', '')}){block_text}",
                    **details,
                )
            future.set_exception(error)

    def interchange_stats(self) -> dict[str, Any]:
        """The interchange's counters: ``queued`` tasks, ``task_bytes`` received from
        this side so far, and the connected ``managers``."""
        if self._client is None or not self._open:
            return {}
        stats: dict[str, Any] = self._client.command("stats")
        return stats

    def connected_managers(self) -> list[dict[str, Any]]:
        """The managers connected now: block, host, pid, workers, tasks, idle seconds."""
        managers: list[dict[str, Any]] = self.interchange_stats().get("managers", [])
        return managers

    def _fail_everything(self, error: PlaitError) -> None:
        """The executor cannot go on: fail every outstanding task and refuse new ones."""
        logger.error("%s", error)
        with self._lock:
            if self._failure is None:
                self._failure = error
        self._fail_all(error)

    def _fail_all(self, error: PlaitError) -> None:
        with self._lock:
            entries = list(self._tasks.values())
            self._tasks.clear()
        for future, _ in entries:
            if not future.done():
                future.set_exception(error)

    # --- scaling (the kernel's scaling loop) ----------------------------------------------

    def poll_blocks(self) -> None:
        """Notice blocks that ended; fail their tasks and replace failed blocks while
        tasks are outstanding."""
        if self._blocks is None or self._client is None or not self._open or self._failure:
            return
        for record in self._blocks.poll():
            with self._pools_lock:
                self._pools.pop(record.block_id, None)
            try:
                self._client.command(
                    "block_ended", block=record.block_id, reason=record.status.state.name
                )
            except Exception:  # the interchange is gone; _fail_everything said so
                return
            if record.failed and self._tasks and not self._blocks.failed_for_good:
                self._blocks.scale_out(1)

    def scaling_load(self) -> ExecutorLoad:
        """Outstanding tasks and, per live block, its tasks and idle time."""
        assert self._blocks is not None and self._client is not None
        if self._failure is not None:  # nothing to scale for
            return ExecutorLoad(outstanding=0, slots_per_block=1, blocks=[])
        stats = self._client.command("stats")
        by_block: dict[str, list[dict[str, Any]]] = {}
        for manager in stats["managers"]:
            by_block.setdefault(str(manager["block"]), []).append(manager)
        now = time.monotonic()
        blocks = []
        for record in self._blocks.live():
            managers = by_block.get(record.block_id, [])
            tasks = sum(int(m["tasks"]) for m in managers)
            idle = min((float(m["idle_for"]) for m in managers), default=now - record.started)
            blocks.append(BlockLoad(record.block_id, tasks, 0.0 if tasks else idle))
        provider = self.provider
        return ExecutorLoad(
            outstanding=len(self._tasks),
            slots_per_block=self._slots_per_block(),
            blocks=blocks,
            min_blocks=provider.min_blocks,
            max_blocks=provider.max_blocks,
            parallelism=provider.parallelism,
        )

    def capacity(self) -> Capacity:
        """Workers of the managers registered now (``slots``), and the workers that the
        blocks still pending and those the provider's ``max_blocks`` allows would add
        (``possible``, counted with ``max_workers_per_node`` or the cores of this host
        until a manager reports its count); ``Capacity(0, 0)`` before ``start``, after
        ``shutdown`` and once the executor failed (EXE-008). Local bookkeeping only: no
        call to the interchange."""
        blocks = self._blocks
        if blocks is None or not self._open or self._failure is not None:
            return Capacity(0, 0)
        live = [r for r in blocks.live() if not r.asked_to_end]
        slots = pending = 0
        with self._pools_lock:
            for record in live:
                pools = self._pools.get(record.block_id)
                if pools:
                    slots += sum(pools.values())
                else:
                    pending += 1
        room = 0 if blocks.failed_for_good else max(0, self.provider.max_blocks - len(live))
        return Capacity(slots, (pending + room) * self._slots_per_block())

    def _slots_per_block(self) -> int:
        nodes = self.provider.nodes_per_block
        if self.mpi_launcher is not None:  # one manager per block, one worker per node
            return self.max_workers_per_node or nodes
        return self._slots_per_node() * nodes

    def _slots_per_node(self) -> int:
        if self._workers_seen:
            return self._workers_seen
        if self.max_workers_per_node is not None:
            return self.max_workers_per_node
        return max(1, int((os.cpu_count() or 1) / self.cores_per_worker))

    def scale_out(self, blocks: int) -> list[str]:
        """Start ``blocks`` more blocks."""
        if self._blocks is None or not self._open or self._failure is not None:
            return []
        return self._blocks.scale_out(blocks)

    def scale_in(self, block_ids: Sequence[str]) -> list[str]:
        """Cancel the named blocks whose managers are idle (held first, so no task is
        sent to them while they stop)."""
        if self._blocks is None or self._client is None or not self._open:
            return []
        held = self._client.command("hold", blocks=list(block_ids))
        return self._blocks.scale_in([str(b) for b in held])
