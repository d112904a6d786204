"""PSIJProvider: blocks are PSI/J jobs, submitted through any PSI/J job executor.

A block is one PSI/J ``Job``: ``bash`` running the block's guard (:mod:`plait_psij.guard`)
around the block script (``worker_init`` and the launch line), with the provider's
options in its ``JobSpec`` (:mod:`plait_psij.jobspec`). The provider creates its PSI/J
executor at the first ``submit``, with PSI/J's work directory under ``script_dir``, and
lets PSI/J's threads end once no block is live (:mod:`plait_psij.threads`); the next
``submit`` creates a new executor. ``status`` reads the state PSI/J's own polling keeps
for each job (:mod:`plait_psij.states`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from plait.errors import ConfigError, SchedulerCommandError, did_you_mean
from plait.interfaces import ExecutionProvider, JobState, JobStatus, Launcher
from plait.procfs import pid_alive
from plait.providers import BlockFiles, BlockPaths, check_block_counts, launcher_option
from plait.slurm import never_starts
from plait.validators import (
    AttrsField,
    flag,
    fraction,
    int_at_least,
    non_empty_str,
    one_line,
    positive_number,
    required,
    text,
    walltime_seconds,
)
from plait_psij import backend, guard, threads
from plait_psij.jobspec import BlockRequest, job_spec
from plait_psij.options import NO_ALLOCATION, SCHEDULER_OPTIONS, check_supported
from plait_psij.squeue import SqueueStatus, install
from plait_psij.states import translate

if TYPE_CHECKING:
    from psij import Job, JobExecutor

logger = logging.getLogger(__name__)

_OWNER = "PSIJProvider"
_POLL = 0.05
"""Seconds between two checks while ``cancel`` waits for a block's processes to end."""
_POLL_ERRORS_FOR = 120.0
"""Seconds of failing queue polls (``squeue`` errors) PSI/J tolerates before it fails
every job of the executor (its default is 2 polls in a row)."""
_ENDED_ALONE = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.TIMEOUT})
"""Final states of a block that ended before a cancel reached it."""


# --- option validation ------------------------------------------------------------------

_seconds = positive_number(unit="number of seconds")
_has_walltime = required(
    "PSI/J gives every job a duration",
    hint='give seconds or "HH:MM:SS" (the default is "00:10:00")',
)


def _as_dict(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def _table(instance: object, attribute: AttrsField, value: object) -> None:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ConfigError(
            f"{_OWNER}.{attribute.name}={value!r} must be a table with str keys",
            option=attribute.name,
        )


def _launcher(value: Any) -> Launcher | None:
    """None (PSI/J's launcher decides), or what :func:`plait.providers.launcher_option`
    takes."""
    return None if value is None else launcher_option(value)


# --- blocks -----------------------------------------------------------------------------


@attrs.define(eq=False)
class _Session:
    """One PSI/J executor instance and how many of its blocks are live."""

    executor: JobExecutor
    squeue: SqueueStatus | None
    live: int = 0
    """Blocks being submitted or submitted and not yet seen ending."""


@attrs.define(eq=False)
class _Block:
    """One block: its PSI/J job and what the provider saw of it."""

    job_id: str
    job: Job
    session: _Session
    paths: BlockPaths
    marker: Path
    """The file the guard creates when it ends the block at its walltime."""
    cancelling: bool = False
    """True once :meth:`PSIJProvider.cancel` (or the provider itself) cancels it."""
    final: JobStatus | None = None
    """The terminal status, once seen (then it never changes)."""


# --- the provider -----------------------------------------------------------------------


@attrs.define(eq=False, kw_only=True)
class PSIJProvider(ExecutionProvider):
    """Runs blocks as jobs of a PSI/J job executor: ``slurm``, ``pbs``, ``lsf``,
    ``cobalt``, ``flux`` or ``local``.

    ``executor`` names the PSI/J executor (default ``local``: this host) and
    ``executor_config`` holds keyword options for its configuration class (for Slurm,
    ``SlurmExecutorConfig``: ``queue_polling_interval``, ``initial_queue_polling_delay``,
    ``keep_files`` ...; unset, PSI/J polls its queue every ``status_polling_interval``
    seconds). The scheduler options have the names and meaning of ``SlurmProvider``'s:
    ``partition``, ``account``, ``qos``, ``constraint``, ``exclusive``,
    ``cores_per_node``, ``mem_per_node`` (GB), ``gpus`` (per node) and
    ``scheduler_options`` (PSI/J custom attributes such as ``{"slurm.mail-type":
    "END"}``); one the executor cannot express raises
    :class:`~plait.errors.ConfigError` (the table in the package README). ``walltime``
    (seconds or ``"HH:MM:SS"``, default ten minutes) is the job's duration and is
    enforced by the block's guard on every executor.

    A block runs ``worker_init`` and then ``command`` through PSI/J's ``psij_launcher``
    (``single``: once; ``multiple``: once per task slot on the first node; ``srun``:
    once per task slot through ``srun``), or, with a plait ``launcher``, the line
    ``launcher(command, tasks_per_node, nodes_per_block)`` once. Job ids are the
    executor's native ids (a Slurm job id; a process id for ``local``).
    ``cmd_timeout`` bounds how long ``cancel`` waits for its blocks to end. Invalid values
    raise :class:`~plait.errors.ConfigError` naming the option (PRV-001); a job the
    scheduler refuses raises :class:`~plait.errors.SchedulerCommandError` quoting it.

    Capabilities ``walltime`` (PRV-101) and ``std_streams`` (PRV-102).
    """

    executor: str = attrs.field(default="local", validator=non_empty_str)
    executor_config: dict[str, Any] = attrs.field(
        factory=dict, converter=_as_dict, validator=_table
    )
    psij_launcher: str = attrs.field(default="single", validator=non_empty_str)
    label: str = attrs.field(default="psij", validator=non_empty_str)
    init_blocks: int = attrs.field(default=1, validator=int_at_least(0))
    min_blocks: int = attrs.field(default=0, validator=int_at_least(0))
    max_blocks: int = attrs.field(default=1, validator=int_at_least(0))
    parallelism: float = attrs.field(default=1.0, validator=fraction)
    nodes_per_block: int = attrs.field(default=1, validator=int_at_least(1))
    status_polling_interval: float = attrs.field(default=10.0, validator=_seconds)
    walltime: float = attrs.field(
        default=600.0, converter=walltime_seconds, validator=_has_walltime
    )
    partition: str | None = attrs.field(default=None, validator=one_line)
    account: str | None = attrs.field(default=None, validator=one_line)
    qos: str | None = attrs.field(default=None, validator=one_line)
    constraint: str | None = attrs.field(default=None, validator=one_line)
    exclusive: bool = attrs.field(default=False, validator=flag)
    cores_per_node: int | None = attrs.field(default=None, validator=int_at_least(1, optional=True))
    mem_per_node: float | None = attrs.field(
        default=None, validator=positive_number(optional=True, unit="number of GB")
    )
    gpus: int | None = attrs.field(default=None, validator=int_at_least(1, optional=True))
    scheduler_options: dict[str, Any] = attrs.field(
        factory=dict, converter=_as_dict, validator=_table
    )
    worker_init: str = attrs.field(default="", validator=text())
    launcher: Launcher | None = attrs.field(default=None, converter=_launcher)
    cmd_timeout: float = attrs.field(default=30.0, validator=_seconds)

    capabilities: ClassVar[frozenset[str]] = frozenset({"walltime", "std_streams"})
    maturity: ClassVar[str] = "alpha"

    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _create_lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _blocks: dict[str, _Block] = attrs.field(factory=dict, init=False, repr=False)
    _session: _Session | None = attrs.field(default=None, init=False, repr=False)
    _guards: dict[Path, Path] = attrs.field(factory=dict, init=False, repr=False)
    _files: BlockFiles = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        check_block_counts(self)
        cls = backend.executor_class(self.executor, _OWNER)
        self.executor = self.executor.lower()
        self._check_executor_config(backend.config_options(backend.config_class(cls)))
        launchers = backend.launcher_names()
        if self.psij_launcher not in launchers:
            suggestion = did_you_mean(self.psij_launcher, launchers)
            raise ConfigError(
                f"{_OWNER}.psij_launcher={self.psij_launcher!r}: PSI/J has no launcher by that "
                f"name{suggestion}",
                hint=f"the PSI/J launchers installed here are: {', '.join(launchers)}",
                option="psij_launcher",
            )
        if self.launcher is not None and self.psij_launcher != "single":
            raise ConfigError(
                f"{_OWNER}: launcher={self.launcher!r} and psij_launcher={self.psij_launcher!r}: "
                "a plait launcher's line runs once per block",
                hint="leave psij_launcher at 'single' with a plait launcher, or drop launcher",
                option="psij_launcher",
            )
        check_supported(
            _OWNER, self.executor, {name: getattr(self, name) for name in SCHEDULER_OPTIONS}
        )
        self._files = BlockFiles(self, "psij")

    def _check_executor_config(self, known: list[str]) -> None:
        unknown = [key for key in self.executor_config if key not in known]
        if "work_directory" in self.executor_config:
            raise ConfigError(
                f"{_OWNER}.executor_config: work_directory is chosen by the provider "
                "(<script_dir>/psij-work, so that PSI/J's files stay under script_dir)",
                hint="remove work_directory from executor_config",
                option="executor_config",
            )
        if unknown:
            names = ", ".join(repr(key) for key in unknown)
            suggestion = did_you_mean(unknown[0], known)
            raise ConfigError(
                f"{_OWNER}.executor_config: PSI/J's {self.executor!r} executor configuration "
                f"has no option {names}{suggestion}",
                hint=f"its options are: {', '.join(k for k in known if k != 'work_directory')}",
                option="executor_config",
            )

    # --- the PSI/J executor -------------------------------------------------------------

    def _new_session(self) -> _Session:
        """A new PSI/J executor, with its work directory under the block directory."""
        import psij

        cls = backend.executor_class(self.executor, _OWNER)
        config_cls = backend.config_class(cls)
        known = backend.config_options(config_cls)
        options: dict[str, Any] = {}
        if "queue_polling_interval" in known:
            options["queue_polling_interval"] = self.status_polling_interval
            options["initial_queue_polling_delay"] = min(2.0, self.status_polling_interval)
        options.update(self.executor_config)
        if "queue_polling_error_threshold" in known:
            interval = float(options.get("queue_polling_interval", 30))
            options.setdefault(
                "queue_polling_error_threshold", max(2, math.ceil(_POLL_ERRORS_FOR / interval))
            )
        options["work_directory"] = self._files.directory() / "psij-work"
        executor = psij.JobExecutor.get_instance(self.executor, config=config_cls(**options))
        threads.adopt(executor)
        squeue = install(executor) if self.executor == "slurm" else None
        logger.debug("%s: created PSI/J executor %s", self.label, executor)
        return _Session(executor, squeue)

    def _acquire(self) -> _Session:
        """The current session (created when there is none), with a block reserved."""
        with self._lock:
            if self._session is not None:
                self._session.live += 1
                return self._session
        with self._create_lock:
            with self._lock:
                session = self._session
            if session is None:
                session = self._new_session()
            with self._lock:
                self._session = session
                session.live += 1
            return session

    def _drop(self, session: _Session) -> None:
        """One live block of ``session`` fewer; release the executor at zero."""
        with self._lock:
            session.live -= 1
            idle = session.live == 0
            if idle and self._session is session:
                self._session = None
        if idle:
            logger.debug("%s: no live block: releasing %s", self.label, session.executor)
            threads.release(session.executor)

    def _guard(self, directory: Path) -> Path:
        with self._lock:
            known = self._guards.get(directory)
        if known is None:
            known = guard.write(directory)
            with self._lock:
                self._guards[directory] = known
        return known

    # --- submit -------------------------------------------------------------------------

    def request(self, tasks_per_node: int, job_name: str) -> BlockRequest:
        """What a block of this provider asks PSI/J for (turned into its ``JobSpec`` by
        ``plait_psij.jobspec.job_spec``)."""
        return BlockRequest(
            executor=self.executor,
            job_name=job_name,
            tasks_per_node=tasks_per_node,
            nodes_per_block=self.nodes_per_block,
            walltime=self.walltime,
            psij_launcher=self.psij_launcher,
            partition=self.partition,
            account=self.account,
            qos=self.qos,
            constraint=self.constraint,
            exclusive=self.exclusive,
            cores_per_node=self.cores_per_node,
            mem_per_node=self.mem_per_node,
            gpus=self.gpus,
            scheduler_options=dict(self.scheduler_options),
        )

    def submit(self, command: str, tasks_per_node: int, job_name: str = "plait.block") -> str:
        """Submit a block running ``worker_init`` and ``command`` (through the plait or
        PSI/J launcher); return its job id, the executor's native id (PRV-004)."""
        import psij

        line = command
        if self.launcher is not None:
            line = self.launcher(command, tasks_per_node, self.nodes_per_block)
        script = f"{self.worker_init}\n{line}\n" if self.worker_init.strip() else f"{line}\n"
        number, paths = self._files.next(job_name, tag="psij-")
        paths.script.write_text(script)
        marker = paths.script.with_suffix(".timeout")
        request = self.request(tasks_per_node, job_name)
        job = psij.Job(job_spec(request, self._guard(paths.script.parent), paths, marker))
        session = self._acquire()
        try:
            session.executor.submit(job)
        except psij.SubmitException as exc:
            self._drop(session)
            raise SchedulerCommandError(
                f"{self.label}: PSI/J's {self.executor!r} executor could not submit block "
                f"{job_name!r}: {exc.message.strip()}",
                command=self.executor,
            ) from None
        except psij.InvalidJobException as exc:
            self._drop(session)
            raise ConfigError(
                f"{self.label}: PSI/J's {self.executor!r} executor refused block "
                f"{job_name!r}: {exc.message}"
            ) from None
        except BaseException:
            self._drop(session)
            raise
        native = job.native_id or job.id
        with self._lock:
            job_id = native if native not in self._blocks else f"{native}.{number}"
            self._blocks[job_id] = _Block(job_id, job, session, paths, marker)
        logger.debug("%s: block %s submitted: %s", self.label, job_id, paths.script)
        return job_id

    # --- status -------------------------------------------------------------------------

    def status(self, job_ids: Sequence[str]) -> list[JobStatus]:
        """One status per id (PRV-005), from PSI/J's last view of each job: ``PENDING``,
        ``RUNNING``, then ``COMPLETED``/``FAILED`` (with ``exit_code``), ``CANCELLED`` or
        ``TIMEOUT``; ``MISSING`` for ids this provider never issued."""
        statuses = []
        for job_id in job_ids:
            with self._lock:
                block = self._blocks.get(job_id)
            if block is None:
                message = f"{self.label}: no block {job_id!r}"
                statuses.append(JobStatus(JobState.MISSING, message=message))
            else:
                statuses.append(self._observe(block))
        return statuses

    def _observe(self, block: _Block) -> JobStatus:
        """The block's status now; records (once) a terminal one."""
        with self._lock:
            if block.final is not None:
                return block.final
            cancelling = block.cancelling
        psij_status = block.job.status
        reason = None
        if block.session.squeue is not None and block.job.native_id is not None:
            reason = block.session.squeue.pending_reason(block.job.native_id)
        if never_starts(reason) and not cancelling:
            return self._never_starts(block, str(reason))
        walltime_reached = block.marker.exists()
        state, message, exit_code = translate(
            psij_status,
            block.job_id,
            cancelled_by_plait=cancelling,
            walltime_reached=walltime_reached,
        )
        if state is JobState.PENDING and reason:
            message = f"pending: {reason}"
        status = JobStatus(
            state,
            message=message,
            exit_code=exit_code,
            stdout_path=str(block.paths.stdout),
            stderr_path=str(block.paths.stderr),
        )
        return self._record(block, status) if state.terminal else status

    def _record(self, block: _Block, status: JobStatus) -> JobStatus:
        """Make terminal ``status`` the block's final one (unless it has one already)."""
        with self._lock:
            if block.final is not None:
                return block.final
            block.final = status
        logger.debug("%s: block %s ended %s", self.label, block.job_id, status.state.name)
        self._drop(block.session)
        return status

    def _never_starts(self, block: _Block, reason: str) -> JobStatus:
        """Cancel a block the scheduler will never start; it ends ``FAILED``."""
        with self._lock:
            block.cancelling = True
        status = JobStatus(
            JobState.FAILED,
            message=f"job {block.job_id} can never start, so it was cancelled: {reason}",
            stdout_path=str(block.paths.stdout),
            stderr_path=str(block.paths.stderr),
        )
        try:
            block.session.executor.cancel(block.job)
        except Exception as exc:
            logger.warning("%s: cancelling block %s failed: %s", self.label, block.job_id, exc)
        return self._record(block, status)

    # --- cancel -------------------------------------------------------------------------

    def cancel(self, job_ids: Sequence[str]) -> list[bool]:
        """Cancel blocks through PSI/J and wait (at most ``cmd_timeout`` seconds in all)
        until they have ended; True for each block this call stopped, False for unknown
        ids and blocks that had ended or were being cancelled already (PRV-009)."""
        results: list[bool] = []
        stopped: list[tuple[int, _Block]] = []
        for job_id in job_ids:
            with self._lock:
                block = self._blocks.get(job_id)
            if block is None or self._observe(block).state.terminal:
                results.append(False)
                continue
            with self._lock:
                already, block.cancelling = block.cancelling, True
            if already:
                results.append(False)
                continue
            try:
                block.session.executor.cancel(block.job)
            except Exception as exc:  # the job ended meanwhile (scancel or the reaper says so)
                logger.debug("%s: cancel of %s: %s", self.label, job_id, exc)
            stopped.append((len(results), block))
            results.append(True)
        deadline = time.monotonic() + self.cmd_timeout
        for index, block in stopped:
            self._wait_ended(block, deadline)
            if self._observe(block).state in _ENDED_ALONE:
                results[index] = False
        return results

    def _wait_ended(self, block: _Block, deadline: float) -> None:
        """Wait until PSI/J reports the job final and, for ``local``, its processes are
        gone (PSI/J's local executor reports CANCELED before it kills them)."""
        left = max(0.001, deadline - time.monotonic())  # PSI/J waits for ever on a zero timeout
        if block.job.wait(timeout=timedelta(seconds=left)) is None:
            logger.warning(
                "%s: block %s did not end within cmd_timeout=%g s of cancel()",
                self.label,
                block.job_id,
                self.cmd_timeout,
            )
            return
        if self.executor in NO_ALLOCATION and block.job.native_id is not None:
            pid = int(block.job.native_id)
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(_POLL)
