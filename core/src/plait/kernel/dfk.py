"""The DataFlowKernel: what ``plait.load`` returns and apps submit to."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

import attrs

from plait.apps.decorators import OPTION_NAMES, App
from plait.apps.futures import AppFuture
from plait.apps.streams import AUTO_LOGNAME
from plait.builtins.console_reporter import ConsoleErrorReporter
from plait.config.config import (
    Config,
    build_component,
    check_data_locations,
    default_executors,
)
from plait.data.futures import DataFuture
from plait.data.staging import StagingPlanner
from plait.errors import (
    CapabilityError,
    ConfigError,
    KernelClosedError,
    ResourceSpecificationError,
    UnknownExecutorError,
)
from plait.interfaces import (
    EMPTY_RESOURCES,
    ErrorReporter,
    Executor,
    ResourceSpecification,
    ScalingExecutor,
    parse_walltime,
)
from plait.kernel.checkpoint import load_checkpoints
from plait.kernel.dependencies import find_futures
from plait.kernel.dispatcher import CALL, CANCELLED, STOP, SUBMIT, Dispatcher
from plait.kernel.records import TaskRecord
from plait.kernel.rundir import make_run_dir
from plait.kernel.summary import FailureSummary
from plait.plugins import get_plugin_system
from plait.scaling import ScalingLoop

logger = logging.getLogger("plait")
T = TypeVar("T")
JOIN_THREADS = 4
STAGING_THREADS = 8
"""Staging steps (``separate``-mode stage-ins and stage-outs) that run at once."""


class DataFlowKernel:
    """Runs apps on the configured executors, tracking dependencies between tasks.

    Use it as a context manager (``with plait.load(cfg) as dfk:``) or call
    :meth:`cleanup` when done; an interpreter exit cleans up too.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config if config is not None else Config()
        self.plugins = get_plugin_system()
        enabled = self.config.enable_development
        executors = self.config.executors or default_executors(enabled)
        self.executors: dict[str, Executor] = {e.label: e for e in executors}
        check_data_locations(self.config.data_locations, self.executors)
        resolve_stager = self.plugins.hook.plait_resolve_stager
        self.staging = StagingPlanner(
            executors, "", resolve_stager if resolve_stager.get_hookimpls() else None
        )
        """Each task's staging: the executors' stagers and working directories."""
        self.memo: dict[bytes, Any] = (
            load_checkpoints(self.config.checkpoint_files) if self.config.app_cache else {}
        )
        self.reporters: list[ErrorReporter] = [
            reporter
            if isinstance(reporter, ErrorReporter)
            else build_component(
                "error_reporter",
                {"kind": reporter} if isinstance(reporter, str) else reporter,
                f"error_reporters[{i}]",
                enable_development=enabled,
            )
            for i, reporter in enumerate(self.config.error_reporters)
        ]
        self._app_settings = self.config.apps
        self.failures = FailureSummary()
        """The run's failed tasks by error code, printed at :meth:`cleanup`."""
        self.run_dir = make_run_dir(self.config.run_dir)
        self.staging.run_dir = str(self.run_dir)
        self._log_handler = self._start_logging()
        self.queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._ids = itertools.count()
        self._closed = False
        self._close_lock = threading.Lock()
        self._candidates: dict[str | tuple[str, ...], list[Executor]] = {}
        self._join_pool: ThreadPoolExecutor | None = None
        self._staging_pool: ThreadPoolExecutor | None = None
        self._join_lock = threading.Lock()
        started: list[Executor] = []
        try:
            for executor in self.executors.values():
                executor.start(self.run_dir)
                started.append(executor)
        except BaseException:
            for executor in started:
                executor.shutdown(wait=False)
            self._stop_logging()
            raise
        self.scaling = self._start_scaling()
        self.dispatcher = Dispatcher(self)
        self._thread = threading.Thread(
            target=self.dispatcher.run, name="plait-dispatcher", daemon=True
        )
        self._thread.start()
        atexit.register(self.cleanup)
        logger.info(
            "plait kernel started: run dir %s, executors %s", self.run_dir, list(self.executors)
        )

    # --- submission (any thread) ---------------------------------------------

    def submit(self, app: App, args: tuple[Any, ...], kwargs: dict[str, Any]) -> AppFuture:
        """Create a task for ``app(*args, **kwargs)`` and return its future."""
        if self._closed:
            raise KernelClosedError(f"cannot run app {app.name!r}: this kernel was cleaned up")
        settings = self._app_settings.get(app.name) if self._app_settings else None
        wanted = app.executors
        options = app.option_defaults
        if settings is not None:
            wanted = settings.executors or wanted
            options = {**options, **settings.options}
        candidates = self._candidates.get(wanted)
        if candidates is None:
            candidates = self._resolve_labels(wanted, app.name)
        tid = next(self._ids)
        future = AppFuture(tid, app.name, self)
        rec = TaskRecord(tid, app, future, args, kwargs, candidates, [])
        if kwargs or options or app.kind == "mpi":
            self._read_options(rec, {**options, **kwargs})
        if args:
            find_futures(args, rec.depends)
        if kwargs:
            find_futures(kwargs, rec.depends)
        if rec.inputs and "inputs" not in kwargs:
            find_futures(rec.inputs, rec.depends)
        with self._close_lock:  # never post after cleanup's STOP: the task would hang
            if self._closed:
                raise KernelClosedError(f"cannot run app {app.name!r}: this kernel was cleaned up")
            self.queue.put((SUBMIT, rec))
        return future

    def _resolve_labels(self, wanted: str | tuple[str, ...], app_name: str) -> list[Executor]:
        if wanted == "all":
            candidates = list(self.executors.values())
        else:
            labels = (wanted,) if isinstance(wanted, str) else wanted
            unknown = [label for label in labels if label not in self.executors]
            if unknown:
                raise UnknownExecutorError(
                    f"app {app_name!r} asks for executor {unknown[0]!r}; this configuration "
                    f"has {sorted(self.executors)}",
                    label=unknown[0],
                )
            candidates = [self.executors[label] for label in labels]
        self._candidates[wanted] = candidates
        return candidates

    def _read_options(self, rec: TaskRecord, options: Mapping[str, Any]) -> None:
        for name in OPTION_NAMES:
            if name not in options:
                continue
            value = options[name]
            if name == "walltime":
                rec.walltime = parse_walltime(value)
            elif name == "inputs":
                rec.inputs = list(value or ())
            elif name == "outputs":
                rec.outputs = list(value or ())
                rec.future.outputs = [DataFuture(rec.future, f) for f in rec.outputs]
            elif name == "stdout":
                rec.stdout = value
                rec.future.stdout = None if value is AUTO_LOGNAME else _path(value)
            elif name == "stderr":
                rec.stderr = value
                rec.future.stderr = None if value is AUTO_LOGNAME else _path(value)
            elif value is not None:
                rec.resources = ResourceSpecification.of(value)
        if rec.resources.walltime is not None and rec.walltime is None:
            rec.walltime = rec.resources.walltime
        self._place_mpi(rec)
        # walltime is enforced by the kernel; priority is a hint executors may ignore;
        # the MPI keys are for executors that run MPI tasks (checked above)
        needs_executor = (
            attrs.evolve(
                rec.resources,
                walltime=None,
                priority=None,
                num_nodes=None,
                ranks_per_node=None,
                num_ranks=None,
                launcher_options=None,
            )
            != EMPTY_RESOURCES
        )
        if needs_executor and not any(e.has_capability("resource_spec") for e in rec.candidates):
            raise CapabilityError(
                f"app {rec.app.name!r} passes a resource specification but none of its "
                f"executors {[e.label for e in rec.candidates]} declares 'resource_spec'",
                capability="resource_spec",
            )

    def _place_mpi(self, rec: TaskRecord) -> None:
        """Keep only executors that run MPI tasks as candidates of an MPI task."""
        kind = rec.app.kind
        if rec.resources.mpi() is None:
            if kind != "mpi":
                return
            rec.resources = attrs.evolve(rec.resources, num_ranks=1)  # an mpi_app's default
        if kind not in ("mpi", "bash"):
            raise ResourceSpecificationError(
                f"{kind}_app {rec.app.name!r} passes MPI keys (num_nodes, ranks_per_node, "
                "num_ranks, launcher_options), which only MPI tasks take",
                hint="use @mpi_app (the function runs on every rank) or a @bash_app whose "
                "command starts with $PLAIT_MPI_PREFIX",
            )
        mpi = [e for e in rec.candidates if e.runs_mpi]
        if not mpi:
            raise CapabilityError(
                f"app {rec.app.name!r} is an MPI task but none of its executors "
                f"{[e.label for e in rec.candidates]} runs MPI tasks",
                hint='configure a HighThroughputExecutor with mpi_launcher = "mpiexec" '
                '(MPICH), "mpirun" (Open MPI) or "srun-mpi" (Slurm) for MPI apps',
                capability="mpi",
            )
        rec.candidates = mpi

    # --- requests answered by the dispatcher -----------------------------------

    def _call(self, func: Callable[[], T]) -> T:
        if threading.current_thread() is self._thread:
            return func()
        reply: Future[T] = Future()
        with self._close_lock:  # a CALL posted after STOP would never be answered
            if self._closed or not self._thread.is_alive():
                raise KernelClosedError("this kernel was cleaned up")
            self.queue.put((CALL, func, reply))
        return reply.result()

    def task_cancelled(self, tid: int) -> None:
        """Tell the dispatcher a pending task's future was cancelled (AppFuture use)."""
        self.queue.put((CANCELLED, tid))

    def cancel_launched(self, tid: int) -> bool:
        """Ask the dispatcher to cancel a launched task (AppFuture use)."""
        try:
            return self._call(lambda: self.dispatcher.cancel_launched(tid))
        except KernelClosedError:  # cleanup cancels whatever is left
            return False

    def checkpoint(self) -> int:
        """Write memoized results to this run's checkpoint file now; return how many."""
        return self._call(self.dispatcher.checkpoint)

    def wait_for_current_tasks(self) -> None:
        """Block until every task submitted so far has finished."""
        if self._closed:
            return
        if threading.current_thread() is self._thread:
            raise RuntimeError("wait_for_current_tasks() cannot be called from a done callback")
        reply: Future[None] = Future()
        self._call(lambda: self.dispatcher.wait_all(reply))
        reply.result()

    def tasks_outstanding(self) -> int:
        """How many tasks have not finished yet."""
        return self._call(lambda: len(self.dispatcher.tasks))

    # --- join apps --------------------------------------------------------------

    def join_pool(self) -> ThreadPoolExecutor:
        """The pool join apps' bodies run on (created on first use)."""
        with self._join_lock:
            if self._join_pool is None:
                self._join_pool = ThreadPoolExecutor(JOIN_THREADS, thread_name_prefix="plait-join")
            return self._join_pool

    def staging_pool(self) -> ThreadPoolExecutor:
        """The pool ``separate``-mode staging runs on (created on first use)."""
        with self._join_lock:
            if self._staging_pool is None:
                self._staging_pool = ThreadPoolExecutor(
                    STAGING_THREADS, thread_name_prefix="plait-staging"
                )
            return self._staging_pool

    # --- lifecycle ---------------------------------------------------------------

    def cleanup(self) -> None:
        """Cancel unfinished tasks, stop executors and every kernel thread.

        Executors are shut down with ``wait=True``, unless a task was still running when
        it was cancelled: then with ``wait=False``, so that an executor that can stop a
        running task (a process executor) does, rather than run it to its end.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.cleanup)
        self.queue.put((STOP,))
        if threading.current_thread() is not self._thread:
            self._thread.join()
        if self.scaling is not None:
            self.scaling.stop()
        # tasks the kernel gave up on need no result: executors need not wait for them
        wait = not self.dispatcher.abandoned
        for executor in self.executors.values():
            try:
                executor.shutdown(wait=wait)
            except Exception:
                logger.exception("executor %s failed to shut down", executor.label)
        with self._join_lock:
            for pool in (self._join_pool, self._staging_pool):
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
        for reporter in self.reporters:
            reporter.close()
        self._summarize_failures()
        logger.info("plait kernel cleaned up")
        self._stop_logging()
        from plait.kernel import current

        current.forget(self)

    def _summarize_failures(self) -> None:
        """Log the failure summary, and print it when the console reporter is in use."""
        text = self.failures.render()
        if not text:
            return
        logger.warning("%s", text)
        if any(isinstance(r, ConsoleErrorReporter) for r in self.reporters):
            with contextlib.suppress(Exception):
                sys.stderr.write(text + "\n")
                sys.stderr.flush()

    def __enter__(self) -> DataFlowKernel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and self.config.exit_mode == "wait":
                self.wait_for_current_tasks()
        finally:
            self.cleanup()

    # --- the run log -----------------------------------------------------------

    def _start_scaling(self) -> ScalingLoop | None:
        """The scaling loop over the executors that run workers in blocks, if any."""
        scalable = [e for e in self.executors.values() if isinstance(e, ScalingExecutor)]
        if not scalable:
            return None
        loop = ScalingLoop(
            scalable,
            self.config.strategy,
            self.config.strategy_period,
            self.config.max_idletime,
        )
        loop.start()
        return loop

    def _start_logging(self) -> logging.Handler | None:
        if not self.config.initialize_logging:
            return None
        try:
            level = logging.getLevelName(self.config.log_level.upper())
            handler = logging.FileHandler(self.run_dir / "plait.log")
            handler.setLevel(level)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"log_level={self.config.log_level!r}: {exc}") from exc
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(name)s:%(lineno)d %(threadName)s %(levelname)s %(message)s"
            )
        )
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
        return handler

    def _stop_logging(self) -> None:
        if self._log_handler is not None:
            logger.removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None


def _path(value: Any) -> str | None:
    if isinstance(value, tuple):
        value = value[0]
    return os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
