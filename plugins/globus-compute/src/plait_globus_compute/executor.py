"""GlobusComputeExecutor: tasks run on a Globus Compute endpoint through the SDK's Executor.

::

    submit (dispatcher thread)          SDK Executor                      endpoint
    check, serialize, size  -->  batches --> web service (HTTPS) -->  engine workers
    future completed <-- outcome tuple <-- result queue (AMQPS)   <--  remote.run(...)

At ``start`` the executor checks that the endpoint is online, registers one function,
``plait_globus_compute.remote.run``, and creates the SDK's ``Executor``. Every task
is a call of that function with the kernel's task wrapper, the task's arguments and this
side's versions; the endpoint's workers need plait and plait-globus-compute installed.
Bash apps, walltime, staging and MPI apps run there exactly as on plait's own executors
(the kernel's :class:`~plait.apps.execution.TaskCall`).
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from pathlib import Path
from typing import Any, ClassVar

import attrs

from plait.apps.execution import TaskCall
from plait.concurrency import cancel_and_notify
from plait.errors import ExecutorFailureError, ExecutorUnavailableError
from plait.interfaces import Capacity, Executor, LightFuture, TaskDescription
from plait.serialization import SerializerChain
from plait.validators import flag, int_at_least, non_empty_str, required
from plait_globus_compute import options, payload, remote, sdk, versions
from plait_globus_compute.errors import EndpointOfflineError
from plait_globus_compute.outcomes import TaskContext, error_of, value_of
from plait_globus_compute.resources import resource_specification

logger = logging.getLogger(__name__)

RESENDS = 3
"""Times a task the SDK dropped before sending it is handed to a new SDK executor."""


@attrs.define(eq=False)
class _Task:
    """One task between ``submit`` and its outcome."""

    key: int
    future: LightFuture[Any]
    context: TaskContext
    runner_args: tuple[Any, ...]
    resources: dict[str, Any] | None
    settled: bool = False
    resent: int = 0


@attrs.define(eq=False)
class GlobusComputeExecutor(Executor):
    """Runs tasks on a Globus Compute endpoint, through ``globus_compute_sdk.Executor``.

    Options:

    * ``endpoint_id`` (required): the endpoint's UUID.
    * ``client``: a ``globus_compute_sdk.Client`` (in Python only); default: the SDK's
      own login (a client identity from ``GLOBUS_COMPUTE_CLIENT_ID`` and
      ``GLOBUS_COMPUTE_CLIENT_SECRET`` when they are set).
    * ``function_id``: the id of ``plait_globus_compute.remote.run`` registered
      beforehand (an endpoint that allows listed functions only); default: registered
      at ``start``.
    * ``user_endpoint_config``: values for a multi-user endpoint's configuration
      template (account, partition, walltime of its blocks ...).
    * ``batch_size``, ``api_burst_limit``, ``api_burst_window_s``, ``amqp_port``: the
      SDK Executor's batching, client-side rate limit and result-queue port.
    * ``max_payload_bytes``: the largest serialized task (function and arguments)
      submitted; larger ones fail at submit with ``PLT-221``.
    * ``max_in_flight``: the most tasks sent to the service and not finished; the
      others wait here, where ``cancel`` can still stop them, and go in groups once
      half of the tasks out have finished (default: no limit).
    * ``workers``: how many tasks the endpoint runs at once (its engine's workers),
      which the client cannot ask the service; given, :meth:`capacity` reports it, so
      that ``executor_policy = "least-loaded"`` weighs this endpoint by it (default:
      unknown, counted as one slot).
    * ``mpi``: the endpoint's engine is ``GlobusMPIEngine``: MPI tasks are sent with
      their layout, other tasks as one rank on one node.
    * ``require_online``: ``start`` fails with ``PLT-220`` unless the endpoint is online
      (false: tasks wait at the service until it is).
    """

    label: str = attrs.field(default="globus-compute", validator=non_empty_str)
    endpoint_id: str | None = attrs.field(
        default=None,
        converter=options.endpoint_uuid,
        validator=required(
            "the executor needs the endpoint to send tasks to",
            'add endpoint_id = "<uuid from `globus-compute-endpoint list`>"',
        ),
    )
    client: Any = attrs.field(default=None, validator=options.client, repr=False)
    function_id: str | None = attrs.field(default=None, converter=options.function_uuid)
    user_endpoint_config: dict[str, Any] | None = attrs.field(
        default=None, validator=options.endpoint_config
    )
    batch_size: int = attrs.field(default=128, validator=int_at_least(1))
    api_burst_limit: int = attrs.field(default=4, validator=options.between(1, 8))
    api_burst_window_s: int = attrs.field(default=16, validator=options.between(1, 32))
    amqp_port: int | None = attrs.field(default=None, validator=options.amqp_port)
    max_payload_bytes: int = attrs.field(
        default=options.MAX_PAYLOAD_BYTES, validator=int_at_least(1)
    )
    max_in_flight: int | None = attrs.field(default=None, validator=int_at_least(1, optional=True))
    workers: int | None = attrs.field(default=None, validator=int_at_least(1, optional=True))
    mpi: bool = attrs.field(default=False, validator=flag)
    require_online: bool = attrs.field(default=True, validator=flag)

    capabilities: ClassVar[frozenset[str]] = frozenset({"cancel"})
    maturity: ClassVar[str] = "alpha"
    conformance_kit: ClassVar[str | None] = (
        "plait_globus_compute.conformance:GlobusComputeConformance"
    )

    _sdk: Any = attrs.field(default=None, init=False, repr=False)
    _sdk_executors: list[Any] = attrs.field(factory=list, init=False, repr=False)
    _function: str | None = attrs.field(default=None, init=False, repr=False)
    _submit_side: dict[str, str] = attrs.field(factory=dict, init=False, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _send_lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _queued: collections.deque[_Task] = attrs.field(
        factory=collections.deque, init=False, repr=False
    )
    _in_flight: dict[int, _Task] = attrs.field(factory=dict, init=False, repr=False)
    _keys: Any = attrs.field(factory=lambda: itertools.count(1), init=False, repr=False)
    _accepting: bool = attrs.field(default=False, init=False, repr=False)
    _running: bool = attrs.field(default=False, init=False, repr=False)
    _chains: dict[int, tuple[Any, SerializerChain]] = attrs.field(
        factory=dict, init=False, repr=False
    )

    @property
    def runs_mpi(self) -> bool:
        """True when ``mpi`` is set: the endpoint's engine is ``GlobusMPIEngine``."""
        return self.mpi

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, run_dir: Path) -> None:
        """Log in (unless a client was given), check the endpoint, register the task
        runner and create the SDK's executor."""
        client = self.client if self.client is not None else self._log_in()
        if self.require_online:
            self._check_online(client)
        self._function = self.function_id or self._register(client)
        self._submit_side = versions.here()
        self._new_sdk_executor(client)
        with self._lock:
            self._accepting = self._running = True
        logger.info(
            "%s: submitting to Globus Compute endpoint %s with function %s",
            self.label, self.endpoint_id, self._function,
        )  # fmt: skip

    def _log_in(self) -> Any:
        """The SDK's default client: its login flow, or a client identity."""
        from globus_compute_sdk import Client

        try:
            return Client()
        except Exception as exc:
            raise ExecutorUnavailableError(
                f"executor {self.label!r} could not log in to Globus Compute: "
                f"{type(exc).__name__}: {exc}",
                hint="log in once interactively (python -c 'import globus_compute_sdk as g; "
                "g.Client()'), or set GLOBUS_COMPUTE_CLIENT_ID and GLOBUS_COMPUTE_CLIENT_SECRET "
                "for a client identity; check the connection to the service",
                executor=self.label,
            ) from exc

    def _check_online(self, client: Any) -> None:
        import globus_sdk

        try:
            status = client.get_endpoint_status(self.endpoint_id)
        except globus_sdk.GlobusAPIError as exc:
            raise EndpointOfflineError(
                f"the Globus Compute service does not give executor {self.label!r} endpoint "
                f"{self.endpoint_id} (HTTP {exc.http_status} {exc.code}: {exc.message})",
                executor=self.label,
                endpoint=self.endpoint_id,
            ) from exc
        except Exception as exc:
            raise ExecutorUnavailableError(
                f"executor {self.label!r} could not reach the Globus Compute service: "
                f"{type(exc).__name__}: {exc}",
                executor=self.label,
            ) from exc
        state = status.get("status") if isinstance(status, Mapping) else None
        if state != "online":
            raise EndpointOfflineError(
                f"endpoint {self.endpoint_id} of executor {self.label!r} is {state}",
                executor=self.label,
                endpoint=self.endpoint_id,
            )

    def _register(self, client: Any) -> str:
        try:
            function_id: str = client.register_function(
                remote.run, description="plait's task runner (plait_globus_compute.remote.run)"
            )
        except Exception as exc:
            raise ExecutorUnavailableError(
                f"executor {self.label!r} could not register plait's task runner with "
                f"Globus Compute: {type(exc).__name__}: {exc}",
                executor=self.label,
            ) from exc
        return function_id

    def _new_sdk_executor(self, client: Any) -> Any:
        from globus_compute_sdk import Executor as SdkExecutor

        executor = SdkExecutor(
            endpoint_id=self.endpoint_id,
            client=client,
            user_endpoint_config=self.user_endpoint_config,
            label=self.label,
            batch_size=self.batch_size,
            amqp_port=self.amqp_port,
            api_burst_limit=self.api_burst_limit,
            api_burst_window_s=self.api_burst_window_s,
        )
        self._sdk = executor
        self._sdk_executors.append(executor)
        return executor

    def capacity(self) -> Capacity | None:
        """``workers`` slots while the executor takes tasks (EXE-008); None when
        ``workers`` is not given or the executor is not running."""
        if self.workers is None or not self._accepting or self._sdk is None:
            return None
        return Capacity(self.workers, 0)

    def shutdown(self, wait: bool = True) -> None:
        """Let outstanding tasks finish (``wait``); cancel the tasks still held here, fail
        those sent and unfinished, and stop the SDK's threads."""
        with self._lock:
            self._accepting = False
        if wait:
            while True:
                with self._lock:
                    pending = [t.future for t in (*self._queued, *self._in_flight.values())]
                if not pending:
                    break
                wait_for(pending)
        with self._lock:
            self._running = False
            queued, self._queued = list(self._queued), collections.deque()
            sent, self._in_flight = list(self._in_flight.values()), {}
        for task in queued:
            cancel_and_notify(task.future)
        for executor in list(self._sdk_executors):
            executor.shutdown(wait=False, cancel_futures=True)
        for task in sent:
            self._settle(task, error=ExecutorUnavailableError(
                f"executor {self.label!r} shut down before {task.context.what} finished",
                **task.context.details,
            ))  # fmt: skip
        executors = list(self._sdk_executors)
        if wait:
            sdk.stop_threads(executors, wait=True)
        else:  # the SDK may still be sending a last request: finish the cleanup aside
            threading.Thread(
                target=sdk.stop_threads,
                args=(executors,),
                kwargs={"wait": False},
                name=f"plait-{self.label}-stop",
                daemon=True,
            ).start()

    # --- tasks ----------------------------------------------------------------------------

    def submit(
        self,
        task: TaskDescription,
        func: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> Future[Any]:
        """Check and serialize the task, then send it (or hold it while ``max_in_flight``
        tasks are out); never waits for the service."""
        if not self._accepting or self._sdk is None:
            raise ExecutorUnavailableError(
                f"executor {self.label!r} is not running (start it, or it has shut down)",
                executor=self.label,
            )
        resources = resource_specification(task, mpi_endpoint=self.mpi, label=self.label)
        assert self.endpoint_id is not None  # validated at construction
        context = TaskContext(task, self.label, self.endpoint_id, self._submit_side)
        call: Any = _without_launcher_options(func)
        if task.serializers:
            chain = self._chain(task.serializers)
            context = attrs.evolve(context, chain=chain)
            call = remote.Encoded(
                chain.spec(), chain.dumps_function(call), chain.dumps_arguments(args, kwargs)
            )
            args, kwargs = (), {}
        runner_args = (call, tuple(args), dict(kwargs), self._submit_side)
        payload.check(
            self._sdk.serializer, runner_args, args, kwargs, self.max_payload_bytes, context.what
        )
        future: LightFuture[Any] = LightFuture()
        entry = _Task(next(self._keys), future, context, runner_args, resources)
        future.gc_task = entry  # type: ignore[attr-defined]
        with self._lock:
            if self.max_in_flight is not None and len(self._in_flight) >= self.max_in_flight:
                self._queued.append(entry)
                return future
            self._in_flight[entry.key] = entry
        self._send(entry)
        return future

    def _chain(self, serializers: tuple[Any, ...]) -> SerializerChain:
        """The app's own serializer chain, built once per app."""
        cached = self._chains.get(id(serializers))
        if cached is None or cached[0] is not serializers:
            chain = SerializerChain(serializers, "the app's serializers")
            cached = self._chains[id(serializers)] = (serializers, chain)
        return cached[1]

    def _send(self, task: _Task) -> None:
        """Hand ``task`` to the SDK's executor (a new one if the last has stopped); from
        here on it can no longer be cancelled."""
        if not task.future.running():  # pending: cancel() only takes tasks held here
            task.future.set_running_or_notify_cancel()
        try:
            with self._send_lock:
                compute_future = self._submit_to_sdk(task)
        except Exception as exc:
            self._settle(task, error=ExecutorFailureError(
                f"executor {self.label!r} could not hand {task.context.what} to the Globus "
                f"Compute SDK: {type(exc).__name__}: {exc}",
                **task.context.details,
            ))  # fmt: skip
            self._release(task)
            return
        compute_future.add_done_callback(functools.partial(self._on_done, task))

    def _submit_to_sdk(self, task: _Task) -> Any:
        executor = self._sdk
        executor.resource_specification = task.resources
        try:
            return executor.submit_to_registered_function(self._function, args=task.runner_args)
        except RuntimeError:  # the SDK's executor stops for good after a failed batch
            if not self._running:
                raise
        logger.warning("%s: the SDK's executor had stopped; starting another", self.label)
        executor = self._new_sdk_executor(executor.client)
        executor.resource_specification = task.resources
        return executor.submit_to_registered_function(self._function, args=task.runner_args)

    def _on_done(self, task: _Task, compute_future: Any) -> None:
        """Complete the task's future from the SDK's (any thread); send held tasks."""
        if compute_future.cancelled():
            if compute_future.task_id is None and self._running and task.resent < RESENDS:
                # dropped from the queue of an SDK executor that stopped: never sent
                logger.warning(
                    "%s: %s was dropped unsent by a stopped SDK executor; sending it again",
                    self.label, task.context.what,
                )  # fmt: skip
                task.resent += 1
                self._send(task)
                return
            sent = "after" if compute_future.task_id else "before"
            self._settle(task, error=ExecutorFailureError(
                f"the Globus Compute SDK dropped {task.context.what} {sent} sending it "
                "(its executor stopped after a failed submission, or was shut down)",
                **task.context.details,
            ))  # fmt: skip
        else:
            exc = compute_future.exception()
            if exc is not None:
                self._settle(task, error=error_of(exc, task.context))
            else:
                try:
                    value = value_of(compute_future.result(), task.context)
                except BaseException as error:
                    self._settle(task, error=error)
                else:
                    self._settle(task, value=value)
        self._release(task)

    def _settle(
        self, task: _Task, *, value: Any = None, error: BaseException | None = None
    ) -> None:
        """Complete the task's future once; later attempts are ignored (completing a done
        LightFuture again would raise while holding its lock)."""
        with self._lock:
            if task.settled:
                return
            task.settled = True
        if error is not None:
            task.future.set_exception(error)
        else:
            task.future.set_result(value)

    def _release(self, task: _Task) -> None:
        """Forget a finished task; once the tasks out are down to half of
        ``max_in_flight``, send held ones up to it (together, so the SDK batches them)."""
        ready: list[_Task] = []
        with self._lock:
            self._in_flight.pop(task.key, None)
            limit = self.max_in_flight
            if (
                self._running
                and self._queued
                and (limit is None or len(self._in_flight) <= limit // 2)
            ):
                while self._queued and (limit is None or len(self._in_flight) < limit):
                    held = self._queued.popleft()
                    self._in_flight[held.key] = held
                    ready.append(held)
        for held in ready:
            self._send(held)

    def cancel(self, future: Future[Any]) -> bool:
        """Cancel a task still held here (``max_in_flight``); a task sent to the service
        cannot be stopped (EXE-101)."""
        task = getattr(future, "gc_task", None)
        if not isinstance(task, _Task):
            return False
        with self._lock:
            try:
                self._queued.remove(task)
            except ValueError:
                return False
        return cancel_and_notify(future)


def _without_launcher_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The kernel's wrapper of an MPI task without its ``launcher_options``: the
    endpoint's prefix (``PARSL_MPI_PREFIX``) already holds them."""
    if isinstance(func, TaskCall) and func.mpi is not None and func.mpi.launcher_options:
        return attrs.evolve(func, mpi=attrs.evolve(func.mpi, launcher_options=()))
    return func
