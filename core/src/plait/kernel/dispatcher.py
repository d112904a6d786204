"""The dispatcher thread: the only code that reads or changes task records.

Every other thread (user threads calling apps, executor callbacks, the join pool)
posts an event tuple to the queue; :meth:`Dispatcher.run` handles them one at a
time. Futures are completed from here, so user done-callbacks run on this thread.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING, Any

from plait.apps.applog import AppLogs, CapturedCall, LoggedResult, format_logs, take_logs
from plait.apps.execution import TaskCall
from plait.apps.futures import AppFuture
from plait.apps.streams import AUTO_LOGNAME, auto_log_path, stream_path
from plait.concurrency import cancel_and_notify
from plait.data.futures import DataFuture
from plait.errors import DependencyError, JoinAppError, PlaitError
from plait.interfaces import ErrorContext, TaskDescription
from plait.kernel.checkpoint import write_checkpoint
from plait.kernel.dependencies import resolve
from plait.kernel.events import TaskEvent, TaskState
from plait.kernel.memo import memo_key
from plait.kernel.records import TaskRecord
from plait.scheduling import LoadTracker, make_policy

if TYPE_CHECKING:
    from plait.interfaces import Executor
    from plait.kernel.dfk import DataFlowKernel

logger = logging.getLogger(__name__)

# Event kinds (first element of each queued tuple).
SUBMIT, DEP_DONE, EXEC_DONE, INNER_DONE, CANCELLED, CALL, STOP, STAGED_IN, STAGED_OUT = range(9)

CAPTURED_CACHE = 1024
"""Functions whose :class:`CapturedCall` the dispatcher remembers."""


class TaskInfo:
    """Read-only view of a task given to a ``retry_handler``."""

    def __init__(self, rec: TaskRecord) -> None:
        self.id = rec.id
        self.name = rec.app.name
        self.attempt = rec.attempt
        self.fail_cost = rec.fail_cost
        self.executor = rec.executor.label if rec.executor else None
        self.args = rec.args
        self.kwargs = rec.kwargs


def _post_dep_done(post: Callable[[tuple[Any, ...]], None], tid: int, _f: Future[Any]) -> None:
    post((DEP_DONE, tid))


def _label(fut: Future[Any]) -> str:
    if isinstance(fut, DataFuture):
        fut = fut.parent
    if isinstance(fut, AppFuture):
        return f"task {fut.tid} ({fut.task_name})"
    return repr(fut)


class Dispatcher:
    """Owns the task table; runs on the ``plait-dispatcher`` thread."""

    def __init__(self, kernel: DataFlowKernel) -> None:
        self.kernel = kernel
        self.queue: queue.SimpleQueue[tuple[Any, ...]] = kernel.queue
        self.tasks: dict[int, TaskRecord] = {}
        self.memo: dict[bytes, Any] = kernel.memo
        self.unsaved: list[tuple[bytes, Any]] = []
        self.waiters: list[Future[None]] = []
        self.abandoned = False
        """True once shutdown cancelled a task an executor was still running."""
        config = kernel.config
        self.retries = config.retries
        self.retry_handler = config.retry_handler
        self.use_memo = config.app_cache
        self.checkpoint_mode = config.checkpoint_mode
        self.period = config.checkpoint_period
        self.app_log_limit = config.app_log_limit
        self.captured: dict[int, CapturedCall] = {}
        self.tasks_dir: str | None = None
        hook = kernel.plugins.hook
        self.event_hook = hook.plait_task_event if hook.plait_task_event.get_hookimpls() else None
        choose_hook = hook.plait_choose_executor
        self.choose_hook = choose_hook if choose_hook.get_hookimpls() else None
        self.report_hook = hook.plait_report_error
        self.debug = logger.isEnabledFor(logging.DEBUG)
        self.policy = make_policy(config.executor_policy)
        self.policy_name: str = getattr(self.policy, "name", type(self.policy).__name__)
        self.load: LoadTracker | None = None
        """Outstanding tasks, durations and capacity per executor: kept only for a
        policy that reads them, and only when there is more than one executor."""
        several = len(kernel.executors) > 1
        if self.policy.uses_load and several:
            self.load = LoadTracker(kernel.executors.values(), config.data_locations)
        elif config.data_locations and several:
            logger.warning(
                "data_locations is set, but executor_policy %r does not use it (least-loaded does)",
                self.policy_name,
            )
        self.explain = self.event_hook is not None or self.debug
        """Whether the policy says why it chose (for task events and the debug log)."""
        self.choices: dict[tuple[str, str], int] = {}
        """Tasks per (app name, executor label) launched after a choice."""
        self.handlers: dict[int, Callable[..., None]] = {
            SUBMIT: self.on_submit,
            DEP_DONE: self.on_dep_done,
            EXEC_DONE: self.on_exec_done,
            INNER_DONE: self.on_inner_done,
            CANCELLED: self.on_cancelled,
            CALL: self.on_call,
            STAGED_IN: self.on_staged_in,
            STAGED_OUT: self.on_staged_out,
        }

    # --- the loop --------------------------------------------------------------

    def run(self) -> None:
        """Handle events until STOP; then cancel what is left and answer late calls."""
        get = self.queue.get
        handlers = self.handlers
        periodic = self.checkpoint_mode == "periodic"
        next_checkpoint = time.monotonic() + self.period
        while True:
            if periodic:
                try:
                    event = get(timeout=max(0.0, next_checkpoint - time.monotonic()))
                except queue.Empty:
                    self.checkpoint()
                    next_checkpoint = time.monotonic() + self.period
                    continue
            else:
                event = get()
            kind = event[0]
            if kind == STOP:
                break
            try:
                handlers[kind](*event[1:])
            except Exception as exc:  # never let one bad event stop the kernel
                logger.exception("dispatcher failed handling event %r", event[:2])
                if kind in (SUBMIT, DEP_DONE, EXEC_DONE, INNER_DONE, STAGED_IN, STAGED_OUT):
                    tid = event[1].id if kind == SUBMIT else event[1]
                    rec = self.tasks.get(tid)
                    if rec is not None:
                        self.fail(rec, exc)
        self.shutdown()

    def shutdown(self) -> None:
        """Cancel unfinished tasks, write the exit checkpoint, answer queued calls."""
        for rec in list(self.tasks.values()):
            # stop launched tasks the executor can still cancel (queued, not running),
            # so a task whose future says "cancelled" does not run after all
            if not self.cancel_launched(rec.id):
                running = rec.exec_future is not None and not rec.exec_future.done()
                self.abandoned = self.abandoned or running
                self.cancel_record(rec)
        if self.checkpoint_mode in ("dfk_exit", "periodic", "task_exit"):
            self.checkpoint()
        while True:
            try:
                event = self.queue.get_nowait()
            except queue.Empty:
                break
            if event[0] == CALL:
                self.on_call(*event[1:])
        for waiter in self.waiters:
            waiter.set_result(None)
        if self.choices:
            logger.info("%s", self.choice_summary())

    def choice_summary(self) -> str:
        """One line on the executors the policy chose, per app: for the run log."""
        apps: dict[str, list[str]] = {}
        for (app, label), count in sorted(self.choices.items()):
            apps.setdefault(app, []).append(f"{label} {count}")
        parts = "; ".join(f"{app}: {', '.join(counts)}" for app, counts in apps.items())
        return f"executor choices ({self.policy_name}): {parts}"

    def on_call(self, func: Callable[[], Any], reply: Future[Any]) -> None:
        """Run ``func`` on this thread for another thread and hand back its result."""
        try:
            reply.set_result(func())
        except BaseException as exc:
            reply.set_exception(exc)

    # --- submission and dependencies -------------------------------------------

    def on_submit(self, rec: TaskRecord) -> None:
        if rec.future.cancelled():
            self.emit(rec, TaskState.CANCELLED)
            return
        self.tasks[rec.id] = rec
        self.emit(rec, TaskState.PENDING)
        waiting = 0
        post = self.queue.put
        tid = rec.id
        for dep in rec.depends:
            if not dep.done():
                waiting += 1
                dep.add_done_callback(partial(_post_dep_done, post, tid))
        rec.deps_waiting += waiting
        if rec.deps_waiting == 0:
            self.ready(rec)

    def on_dep_done(self, tid: int) -> None:
        rec = self.tasks.get(tid)
        if rec is None:
            return
        rec.deps_waiting -= 1
        if rec.deps_waiting == 0:
            self.ready(rec)

    def ready(self, rec: TaskRecord) -> None:
        """All dependencies are done: fail, cancel, take from memo, or launch."""
        if rec.depends:
            failed = [d for d in rec.depends if d.cancelled() or d.exception() is not None]
            if failed:
                if any(d.cancelled() for d in failed):
                    self.cancel_record(rec)
                else:
                    self.dep_fail(rec, failed)
                return
            rec.args = resolve(rec.args)
            rec.kwargs = resolve(rec.kwargs)
            rec.inputs = [f.result() if isinstance(f, Future) else f for f in rec.inputs]
        if self.use_memo and rec.app.cache:
            rec.memo_key = memo_key(
                rec.app.identity, rec.args, rec.kwargs, rec.app.ignore_for_cache
            )
            if rec.memo_key in self.memo:
                if not rec.future.set_running_or_notify_cancel():
                    self.drop(rec, TaskState.CANCELLED)
                    return
                self.finish(rec, TaskState.MEMO_DONE, self.memo[rec.memo_key])
                return
        if not rec.future.set_running_or_notify_cancel():
            self.drop(rec, TaskState.CANCELLED)
            return
        self.launch(rec)

    def dep_fail(self, rec: TaskRecord, failed: list[Future[Any]]) -> None:
        first = failed[0]
        cause = first.exception()
        assert cause is not None
        me = rec.label
        if isinstance(cause, DependencyError):
            chain = (*cause.chain, me)
            root = cause.root_cause
        else:
            chain = (_label(first), me)
            root = f"{type(cause).__name__}: {cause}"
        others = [_label(f) for f in failed[1:]]
        also = f" (also failed: {', '.join(others)})" if others else ""
        error = DependencyError(
            f"{me} did not run because an ancestor failed: {' -> '.join(chain)}; "
            f"{chain[0]} failed with {root}{also}",
            chain=chain,
            root_cause=root,
            failed=[_label(f) for f in failed],
        )
        error.__cause__ = cause
        if rec.future.set_running_or_notify_cancel():
            self.finish(rec, TaskState.DEP_FAIL, error=error)
        else:
            self.drop(rec, TaskState.CANCELLED)

    # --- launching and completion ------------------------------------------------

    def choose(self, rec: TaskRecord, desc: TaskDescription) -> tuple[Executor, str | None]:
        """The executor of a task with several candidates, and why: a
        ``plait_choose_executor`` hook's answer, else the policy's."""
        candidates = rec.candidates
        chosen: Executor | None = None
        reason: str | None
        if self.choose_hook is not None:
            chosen = self.choose_hook(task=desc, executors=candidates)
        if chosen is not None:
            reason = "chosen by a plait_choose_executor hook"
        else:
            try:
                chosen, reason = self.policy.choose(
                    desc, candidates, self.load, rec.inputs, self.explain
                )
            except Exception:  # a broken policy must not fail the task
                logger.exception("executor policy %r failed for %s", self.policy, rec.label)
                chosen, reason = candidates[0], "the executor policy failed: first candidate"
        key = (rec.app.name, chosen.label)
        self.choices[key] = self.choices.get(key, 0) + 1
        if self.debug:
            logger.debug("%s: executor %r chosen: %s", rec.label, chosen.label, reason)
        return chosen, reason

    def launch(self, rec: TaskRecord) -> None:
        app = rec.app
        reason = None
        if app.kind == "join":  # join bodies run in this process, on the join pool
            fut: Future[Any] = self.kernel.join_pool().submit(app.func, *rec.args, **rec.kwargs)
            self.launched(rec, fut, None)
            return
        desc = TaskDescription(rec.id, app.name, rec.attempt, rec.resources, app.serializers)
        candidates = rec.candidates
        if len(candidates) == 1:
            executor = candidates[0]
        else:
            executor, reason = self.choose(rec, desc)
        rec.executor = executor
        if rec.kwargs and ("inputs" in rec.kwargs or "outputs" in rec.kwargs):
            try:
                rec.staging = self.kernel.staging.plan(
                    app.name, rec.id, rec.attempt, rec.kwargs, executor
                )
            except PlaitError as exc:  # no stager, or a stager that cannot: retry is futile
                self.fail(rec, exc)
                return
            if rec.staging is not None and rec.staging.before:
                rec.state = TaskState.STAGING
                self.emit(rec, TaskState.STAGING)
                fut = self.kernel.staging_pool().submit(rec.staging.stage_in)
                post, tid = self.queue.put, rec.id
                fut.add_done_callback(lambda f: post((STAGED_IN, tid, desc, reason, f)))
                return
        self.submit(rec, executor, desc, reason)

    def submit(
        self, rec: TaskRecord, executor: Executor, desc: TaskDescription, reason: str | None
    ) -> None:
        """Hand a task (its inputs staged, when staged separately) to its executor."""
        app = rec.app
        func: Callable[..., Any] = app.func
        if app.kind != "python" or rec.walltime is not None or rec.staging is not None:
            func = self.task_call(rec)
        elif self.app_log_limit:
            func = self.captured_call(func)
        try:
            fut = executor.submit(desc, func, rec.args, rec.kwargs)
        except Exception as exc:
            self.failed_attempt(rec, exc)
            return
        if self.load is not None:
            self.load.launched(rec.id, executor, app.name, fut)
        self.launched(rec, fut, reason)

    def launched(self, rec: TaskRecord, fut: Future[Any], reason: str | None) -> None:
        rec.exec_future = fut
        rec.state = TaskState.LAUNCHED
        self.emit(rec, TaskState.LAUNCHED, reason=reason)
        post = self.queue.put
        tid = rec.id
        fut.add_done_callback(lambda f: post((EXEC_DONE, tid, f)))

    def on_staged_in(
        self, tid: int, desc: TaskDescription, reason: str | None, fut: Future[Any]
    ) -> None:
        """A task's ``separate``-mode inputs are staged in (or failed to)."""
        rec = self.tasks.get(tid)
        if rec is None or rec.attempt != desc.attempt or rec.state is not TaskState.STAGING:
            return  # cancelled meanwhile
        exc = fut.exception()
        if exc is not None:
            self.failed_attempt(rec, exc)
        elif rec.executor is not None:
            self.submit(rec, rec.executor, desc, reason)

    def on_staged_out(self, tid: int, attempt: int, result: Any, fut: Future[Any]) -> None:
        """A task's ``separate``-mode outputs are staged out (or failed to)."""
        rec = self.tasks.get(tid)
        if rec is None or rec.attempt != attempt or rec.state is not TaskState.STAGING:
            return
        exc = fut.exception()
        if exc is not None:
            self.failed_attempt(rec, exc)
        else:
            self.succeed(rec, result)

    def task_call(self, rec: TaskRecord) -> TaskCall:
        app = rec.app
        run_dir = str(self.kernel.run_dir)
        streams = []
        for name, spec in (("stdout", rec.stdout), ("stderr", rec.stderr)):
            if spec is AUTO_LOGNAME:
                spec = auto_log_path(run_dir, rec.id, app.name, rec.attempt, name)
                setattr(rec.future, name, spec)  # as in Parsl, the future names the file
            streams.append(stream_path(spec))
        return TaskCall(
            func=app.func,
            name=app.name,
            kind=app.kind,
            walltime=rec.walltime,
            staging=rec.staging.task if rec.staging is not None else None,
            stdout=streams[0],
            stderr=streams[1],
            mpi=rec.resources.mpi(),
            log_limit=self.app_log_limit,
        )

    def captured_call(self, func: Callable[..., Any]) -> CapturedCall:
        """The function of a plain python app, capturing its app log records: one per
        function, so that executors caching encoded functions by identity still do."""
        captured = self.captured.get(id(func))
        if captured is None or captured.func is not func:
            if len(self.captured) >= CAPTURED_CACHE:
                self.captured.clear()
            captured = self.captured[id(func)] = CapturedCall(func, self.app_log_limit)
        return captured

    def on_exec_done(self, tid: int, fut: Future[Any]) -> None:
        if self.load is not None:
            self.load.finished(tid, fut)
        rec = self.tasks.get(tid)
        if rec is None or rec.exec_future is not fut:
            return  # cancelled meanwhile, or a stale attempt
        if fut.cancelled():
            self.cancel_record(rec)
            return
        exc = fut.exception()
        if exc is not None:
            logs = take_logs(exc)
            if logs is not None:
                self.keep_logs(rec, logs)
            self.failed_attempt(rec, exc)
        elif rec.app.kind == "join":
            self.join(rec, fut.result())
        else:
            result = fut.result()
            if type(result) is LoggedResult:
                self.keep_logs(rec, result.logs)
                result = result.value
            if rec.staging is not None and rec.staging.after:
                rec.staging.ran = True
                rec.state = TaskState.STAGING
                rec.exec_future = None
                self.emit(rec, TaskState.STAGING)
                staged = self.kernel.staging_pool().submit(rec.staging.stage_out)
                post, attempt = self.queue.put, rec.attempt
                staged.add_done_callback(lambda f: post((STAGED_OUT, tid, attempt, result, f)))
                return
            self.succeed(rec, result)

    def keep_logs(self, rec: TaskRecord, logs: AppLogs) -> None:
        """Keep the app log records of one attempt: on the future (the latest attempt's)
        and appended to ``<run dir>/tasks/<task id>.log``."""
        lines = format_logs(logs, rec.id, rec.attempt + 1)
        rec.future._app_logs = lines
        try:
            folder = self.tasks_dir
            if folder is None:
                folder = os.path.join(self.kernel.run_dir, "tasks")
                os.makedirs(folder, exist_ok=True)
                self.tasks_dir = folder
            with open(os.path.join(folder, f"{rec.id}.log"), "a") as file:
                file.write("\n".join(lines) + "\n")
        except OSError:
            logger.exception("could not write the app log of %s", rec.label)

    def succeed(self, rec: TaskRecord, result: Any) -> None:
        if rec.memo_key is not None:
            self.memo[rec.memo_key] = result
            self.unsaved.append((rec.memo_key, result))
            if self.checkpoint_mode == "task_exit":
                self.checkpoint()
        self.finish(rec, TaskState.EXEC_DONE, result)

    def failed_attempt(self, rec: TaskRecord, exc: BaseException) -> None:
        cost = 1.0
        if self.retry_handler is not None:
            try:
                cost = float(self.retry_handler(exc, TaskInfo(rec)))
            except Exception as handler_exc:
                logger.exception("retry_handler raised for %s", rec.label)
                exc = handler_exc
                cost = float("inf")
        rec.fail_cost += cost
        if rec.fail_cost <= self.retries:
            rec.attempt += 1
            rec.future._app_logs = []  # the next attempt's, if it logs
            if self.debug:
                logger.debug("%s failed (%r); retry %d", rec.label, exc, rec.attempt)
            self.launch(rec)
            return
        self.fail(rec, exc)

    def fail(self, rec: TaskRecord, exc: BaseException) -> None:
        """Fail a task for good and tell the error reporters."""
        self.finish(rec, TaskState.FAILED, error=exc)
        context = ErrorContext(
            rec.id, rec.app.name, rec.executor.label if rec.executor else "", rec.attempt + 1
        )
        for reporter in self.kernel.reporters:
            try:
                reporter.report(exc, context)
            except Exception:
                logger.exception("error reporter %r failed", reporter)
        try:
            self.report_hook(error=exc, context=context)
        except Exception:  # a broken plugin must not stop the dispatcher
            logger.exception("a plait_report_error hook failed for %s", rec.label)

    def join(self, rec: TaskRecord, value: Any) -> None:
        inner = value if isinstance(value, list) else [value]
        if not all(isinstance(f, Future) for f in inner):
            self.failed_attempt(
                rec,
                JoinAppError(
                    f"join app {rec.app.name!r} returned {type(value).__name__}, "
                    "not a future or a list of futures"
                ),
            )
            return
        if not inner:  # a fan-out over nothing joins to [] (as in Parsl)
            self.succeed(rec, [])
            return
        rec.state = TaskState.JOINING
        rec.inner = inner
        rec.inner_waiting = len(inner)
        rec.join_single = not isinstance(value, list)
        rec.exec_future = None
        self.emit(rec, TaskState.JOINING)
        post = self.queue.put
        tid = rec.id
        for f in inner:
            f.add_done_callback(lambda _f: post((INNER_DONE, tid)))

    def on_inner_done(self, tid: int) -> None:
        rec = self.tasks.get(tid)
        if rec is None or rec.state is not TaskState.JOINING:
            return
        rec.inner_waiting -= 1
        if rec.inner_waiting:
            return
        failed = [f for f in rec.inner if f.cancelled() or f.exception() is not None]
        single = rec.join_single
        if single and failed and not failed[0].cancelled():
            exc = failed[0].exception()
            assert exc is not None
            self.fail(rec, exc)
        elif failed:
            names = ", ".join(_label(f) for f in failed)
            self.fail(
                rec,
                JoinAppError(
                    f"join app {rec.app.name!r}: {len(failed)} of its {len(rec.inner)} "
                    f"futures failed: {names}",
                    hint="see the failures of the tasks named above",
                    failed=names,
                ),
            )
        else:
            results = [f.result() for f in rec.inner]
            self.succeed(rec, results[0] if single else results)  # memoized like Parsl

    def finish(
        self,
        rec: TaskRecord,
        state: TaskState,
        result: Any = None,
        error: BaseException | None = None,
    ) -> None:
        """Record a final state and complete the task's future."""
        self.drop(rec, state, error)
        if rec.future.done():
            return  # force-cancelled meanwhile
        if error is not None and state in (TaskState.FAILED, TaskState.DEP_FAIL):
            self.kernel.failures.add(rec.label, error)
        if error is None:
            rec.future.set_result(result)
        else:
            rec.future.set_exception(error)

    def drop(self, rec: TaskRecord, state: TaskState, error: BaseException | None = None) -> None:
        """Forget a task that reached a final state."""
        rec.state = state
        self.tasks.pop(rec.id, None)
        self.emit(rec, state, error)
        if not self.tasks and self.waiters:
            for waiter in self.waiters:
                waiter.set_result(None)
            self.waiters.clear()

    # --- cancellation ------------------------------------------------------------

    def on_cancelled(self, tid: int) -> None:
        """The user cancelled a task whose future had not started."""
        rec = self.tasks.get(tid)
        if rec is not None:
            self.drop(rec, TaskState.CANCELLED)

    def cancel_launched(self, tid: int) -> bool:
        """Try to stop a launched, joining or staging-in task; True when it is cancelled."""
        rec = self.tasks.get(tid)
        if rec is None:
            return False
        if rec.state is TaskState.JOINING:
            for f in rec.inner:
                f.cancel()
        elif rec.state is TaskState.STAGING:
            if rec.staging is None or rec.staging.ran:
                return False  # the app ran: its outputs are being published
        elif rec.state is TaskState.LAUNCHED:
            executor = rec.executor
            fut = rec.exec_future
            if executor is None or fut is None or not executor.has_capability("cancel"):
                return False
            if not executor.cancel(fut):
                return False
        else:
            return False
        self.cancel_record(rec)
        return True

    def cancel_record(self, rec: TaskRecord) -> None:
        """Cancel a task's future whatever its state, and forget the task."""
        if not cancel_and_notify(rec.future):  # no kernel round trip, unlike .cancel()
            rec.future._force_cancel()
        self.drop(rec, TaskState.CANCELLED)

    # --- checkpoints and events -------------------------------------------------

    def checkpoint(self) -> int:
        """Write memoized results not yet in this run's checkpoint file."""
        if not self.unsaved:
            return 0
        items, self.unsaved = self.unsaved, []
        return write_checkpoint(self.kernel.run_dir, items)

    def wait_all(self, reply: Future[None]) -> None:
        """Complete ``reply`` when no task is left."""
        if self.tasks:
            self.waiters.append(reply)
        else:
            reply.set_result(None)

    def emit(
        self,
        rec: TaskRecord,
        state: TaskState,
        error: BaseException | None = None,
        reason: str | None = None,
    ) -> None:
        if self.debug:
            logger.debug("%s -> %s", rec.label, state.value)
        if self.event_hook is not None:
            event = TaskEvent(
                rec.id,
                rec.app.name,
                state,
                rec.attempt,
                rec.executor.label if rec.executor else None,
                time.time(),
                None if error is None else f"{type(error).__name__}: {error}",
                reason,
            )
            try:
                self.event_hook(event=event)
            except Exception:  # a broken plugin must not stop the dispatcher
                logger.exception("a plait_task_event hook failed for %s", rec.label)
