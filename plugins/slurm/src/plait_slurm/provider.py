"""SlurmProvider: blocks are Slurm batch jobs.

``submit`` writes a batch script to the run directory and hands it to ``sbatch``;
``status`` reads every asked-for job with one ``squeue --states=all`` (ended jobs stay
there for the controller's ``MinJobAge``, so accounting, ``sacct``, is not needed);
``cancel`` runs ``scancel``. A block that Slurm will never start (its pending reason
says the account may not use the partition, the request exceeds the partition's
limits, ...) is cancelled and reported ``FAILED`` with Slurm's reason, so a wrong
``account`` or ``constraint`` shows up as an error instead of a block pending forever.
"""

from __future__ import annotations

import logging
import math
import shlex
import threading
from collections.abc import Sequence
from typing import ClassVar

import attrs

from plait.errors import SchedulerCommandError
from plait.interfaces import ExecutionProvider, JobState, JobStatus, Launcher
from plait.providers import BlockFiles, BlockPaths, check_block_counts, launcher_option
from plait.slurm import never_starts
from plait.validators import (
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
from plait_slurm import commands
from plait_slurm.launchers import SrunLauncher
from plait_slurm.states import exit_status, job_state

logger = logging.getLogger(__name__)

_SQUEUE_FIELDS = "JobID:|,State:|,exit_code:|,Reason:|"
"""``squeue --Format``: id, state, exit status, reason (last: it is free text)."""

_seconds = positive_number(unit="number of seconds")
_gigabytes = positive_number(optional=True, unit="number of GB")


_has_walltime = required(
    "a Slurm job needs a time limit", hint='give walltime = "HH:MM:SS" (the partition may cap it)'
)


def slurm_time(seconds: float) -> str:
    """``seconds`` as Slurm's ``D-HH:MM:SS``, rounded up to whole seconds (Slurm itself
    rounds limits up to whole minutes)."""
    total = max(1, math.ceil(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"


@attrs.define(eq=False)
class _Job:
    """What the provider knows of one of its jobs."""

    paths: BlockPaths
    final: JobStatus | None = None
    """The status once the job was seen ending (terminal states are final)."""
    seen: bool = False
    """True once squeue listed the job."""
    cancelled: bool = False
    """True once :meth:`SlurmProvider.cancel` cancelled the job."""

    def status(
        self, state: JobState, message: str | None, exit_code: int | None = None
    ) -> JobStatus:
        """A status of this job, naming its stdout and stderr files."""
        return JobStatus(
            state,
            message=message,
            exit_code=exit_code,
            stdout_path=str(self.paths.stdout),
            stderr_path=str(self.paths.stderr),
        )


@attrs.define(eq=False, kw_only=True)
class SlurmProvider(ExecutionProvider):
    """Runs blocks as Slurm batch jobs submitted with ``sbatch``.

    Each block's script, ``<script_dir>/<job_name>.<n>.sbatch``, asks for
    ``nodes_per_block`` nodes for ``walltime`` (seconds or ``"HH:MM:SS"``, default ten
    minutes) in ``partition`` under ``account``, ``qos`` and ``constraint`` (each left
    to Slurm's default when None), with ``exclusive`` nodes, ``cores_per_node`` CPUs
    (``--cpus-per-task``, shared out over the block's tasks per node),
    ``mem_per_node`` GB and ``gpus`` GPUs per node, then any ``#SBATCH`` lines of
    ``scheduler_options``. It runs ``worker_init`` and then ``launcher(command,
    tasks_per_node, nodes_per_block)`` (default ``srun``: one copy per node and task).
    The job's stdout and stderr go next to the script (``.stdout``, ``.stderr``).

    ``init_blocks``, ``min_blocks``, ``max_blocks`` and ``parallelism`` are read by the
    kernel's scaling strategy; ``status_polling_interval`` is how often the executor
    asks for states; ``cmd_timeout`` bounds each Slurm command. Slurm's commands must
    be on PATH. Invalid values raise :class:`~plait.errors.ConfigError` naming the
    option; a job Slurm refuses raises :class:`~plait.errors.SchedulerCommandError`
    with ``sbatch``'s own message.

    Capabilities ``walltime`` (Slurm ends the job at its time limit, rounded up to a
    minute, and it reports ``TIMEOUT``) and ``std_streams``.
    """

    label: str = attrs.field(default="slurm", validator=non_empty_str)
    partition: str | None = attrs.field(default=None, validator=one_line)
    account: str | None = attrs.field(default=None, validator=one_line)
    qos: str | None = attrs.field(default=None, validator=one_line)
    constraint: str | None = attrs.field(default=None, validator=one_line)
    exclusive: bool = attrs.field(default=True, validator=flag)
    init_blocks: int = attrs.field(default=1, validator=int_at_least(0))
    min_blocks: int = attrs.field(default=0, validator=int_at_least(0))
    max_blocks: int = attrs.field(default=1, validator=int_at_least(0))
    parallelism: float = attrs.field(default=1.0, validator=fraction)
    nodes_per_block: int = attrs.field(default=1, validator=int_at_least(1))
    cores_per_node: int | None = attrs.field(default=None, validator=int_at_least(1, optional=True))
    mem_per_node: float | None = attrs.field(default=None, validator=_gigabytes)
    gpus: int | None = attrs.field(default=None, validator=int_at_least(1, optional=True))
    walltime: float = attrs.field(
        default=600.0, converter=walltime_seconds, validator=_has_walltime
    )
    scheduler_options: str = attrs.field(default="", validator=text())
    worker_init: str = attrs.field(default="", validator=text())
    launcher: Launcher = attrs.field(default=SrunLauncher(), converter=launcher_option)
    status_polling_interval: float = attrs.field(default=10.0, validator=_seconds)
    cmd_timeout: float = attrs.field(default=30.0, validator=_seconds)

    capabilities: ClassVar[frozenset[str]] = frozenset({"walltime", "std_streams"})
    maturity: ClassVar[str] = "alpha"
    conformance_kit: ClassVar[str | None] = (
        "plait.conformance.scheduler:SchedulerProviderConformance"
    )

    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _jobs: dict[str, _Job] = attrs.field(factory=dict, init=False, repr=False)
    _files: BlockFiles = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        check_block_counts(self)
        self._files = BlockFiles(self, "slurm")

    # --- submit -------------------------------------------------------------------------

    def script(self, command: str, tasks_per_node: int, job_name: str, paths: BlockPaths) -> str:
        """The batch script of a block (what :meth:`submit` hands to ``sbatch``)."""
        directives = [
            f"--job-name={_job_name(job_name)}",
            f"--output={paths.stdout}",
            f"--error={paths.stderr}",
            f"--nodes={self.nodes_per_block}",
            f"--ntasks-per-node={tasks_per_node}",
            f"--time={slurm_time(self.walltime)}",
        ]
        for option in ("partition", "account", "qos", "constraint"):
            value = getattr(self, option)
            if value is not None:
                directives.append(f"--{option}={value}")
        if self.exclusive:
            directives.append("--exclusive")
        if self.cores_per_node is not None:
            directives.append(f"--cpus-per-task={math.ceil(self.cores_per_node / tasks_per_node)}")
        if self.mem_per_node is not None:
            directives.append(f"--mem={math.ceil(self.mem_per_node * 1024)}M")
        if self.gpus is not None:
            directives.append(f"--gpus-per-node={self.gpus}")
        lines = ["#!/bin/bash", *(f"#SBATCH {shlex.quote(d)}" for d in directives)]
        if self.scheduler_options.strip():
            lines.append(self.scheduler_options.strip())
        if self.worker_init.strip():
            lines.append(self.worker_init.strip())
        lines.append(self.launcher(command, tasks_per_node, self.nodes_per_block))
        return "\n".join(lines) + "\n"

    def submit(self, command: str, tasks_per_node: int, job_name: str = "plait.block") -> str:
        """Write the block's batch script and submit it; Slurm's job id (PRV-004)."""
        _, paths = self._files.next(job_name, suffix=".sbatch")
        paths.script.write_text(self.script(command, tasks_per_node, job_name, paths))
        out = commands.check(["sbatch", "--parsable", str(paths.script)], self.cmd_timeout)
        job_id = out.strip().splitlines()[-1].split(";")[0].strip() if out.strip() else ""
        if not job_id.isdigit():
            raise SchedulerCommandError(
                f"sbatch printed {out.strip()!r}, not a job id", command="sbatch"
            )
        with self._lock:
            self._jobs[job_id] = _Job(paths)
        logger.debug("%s: submitted %s as job %s", self.label, paths.script, job_id)
        return job_id

    # --- status -------------------------------------------------------------------------

    def status(self, job_ids: Sequence[str]) -> list[JobStatus]:
        """One status per id (PRV-005), from one ``squeue`` call for the jobs not known
        to have ended; ``UNKNOWN`` for all of them when squeue cannot be asked."""
        with self._lock:
            ask = sorted({j for j in job_ids if j in self._jobs and self._jobs[j].final is None})
        rows: dict[str, tuple[str, str, str]] = {}
        failure: str | None = None
        if ask:
            try:
                rows = self._squeue(ask)
            except SchedulerCommandError as exc:
                failure = exc.message
        never = [j for j, (state, _, reason) in rows.items() if _never_starts(state, reason)]
        if never:
            self._give_up(never, rows)
        with self._lock:
            return [self._status_of(job_id, rows, failure) for job_id in job_ids]

    def _squeue(self, job_ids: list[str]) -> dict[str, tuple[str, str, str]]:
        """``{job id: (state, exit code, reason)}`` for the ids squeue knows."""
        result = commands.run(
            [
                "squeue",
                "--noheader",
                "--states=all",
                f"--jobs={','.join(job_ids)}",
                f"--Format={_SQUEUE_FIELDS}",
            ],
            self.cmd_timeout,
        )
        if result.returncode != 0:
            if "invalid job id" in result.stderr.lower():
                return {}  # none of them is known any more
            said = result.stderr.strip() or result.stdout.strip()
            raise SchedulerCommandError(f"squeue failed: {said}", command="squeue")
        rows = {}
        for line in result.stdout.splitlines():
            parts = line.split("|", 3)
            if len(parts) == 4 and parts[0].strip() in job_ids:
                state, code, reason = (p.strip().rstrip("|").strip() for p in parts[1:])
                rows[parts[0].strip()] = (state, code, reason)
        return rows

    def _give_up(self, job_ids: list[str], rows: dict[str, tuple[str, str, str]]) -> None:
        """Cancel jobs Slurm will never start; record them ``FAILED`` with the reason."""
        try:
            commands.run(["scancel", *job_ids], self.cmd_timeout)
        except SchedulerCommandError as exc:
            logger.warning("%s: could not cancel jobs %s: %s", self.label, job_ids, exc.message)
        with self._lock:
            for job_id in job_ids:
                job = self._jobs[job_id]
                if job.final is None:
                    reason = rows[job_id][2]
                    job.final = job.status(
                        JobState.FAILED, f"Slurm will not start job {job_id}: {reason}"
                    )
                    logger.warning("%s: %s", self.label, job.final.message)

    def _status_of(
        self, job_id: str, rows: dict[str, tuple[str, str, str]], failure: str | None
    ) -> JobStatus:
        """The status of one id from squeue's rows (called with the lock held)."""
        job = self._jobs.get(job_id)
        if job is None:
            return JobStatus(JobState.MISSING, message=f"{self.label}: no job {job_id!r}")
        if job.final is not None:
            return job.final
        if failure is not None:
            return job.status(JobState.UNKNOWN, failure)
        row = rows.get(job_id)
        if row is None:
            gone = " (it ended more than MinJobAge ago)" if job.seen else ""
            return job.status(JobState.MISSING, f"Slurm no longer knows job {job_id}{gone}")
        job.seen = True
        name, raw_code, reason = row
        state = job_state(name)
        if not state.terminal:
            message = None if reason in ("", "None") else f"Slurm job {job_id}: {name} ({reason})"
            return job.status(state, message)
        code, signum = exit_status(raw_code)
        job.final = job.status(
            state,
            _ended(job_id, name, code, signum, reason, job.cancelled),
            None if code is None else (128 + signum if signum else code),
        )
        return job.final

    # --- cancel -------------------------------------------------------------------------

    def cancel(self, job_ids: Sequence[str]) -> list[bool]:
        """``scancel`` the jobs that have not ended; True for each of them (PRV-009).
        Returns without waiting: Slurm ends the job's processes (``KillWait``) and
        ``status`` reports ``CANCELLED`` once they have."""
        statuses = self.status(job_ids)
        live = sorted({j for j, s in zip(job_ids, statuses, strict=True) if _live(s)})
        if live:
            # marked first, so that a status read meanwhile does not blame someone else
            with self._lock:
                for job_id in live:
                    self._jobs[job_id].cancelled = True
            result = commands.run(["scancel", *live], self.cmd_timeout)
            if result.returncode != 0 and "already completing or completed" not in result.stderr:
                said = result.stderr.strip() or result.stdout.strip()
                raise SchedulerCommandError(f"scancel failed: {said}", command="scancel")
            logger.debug("%s: cancelled jobs %s", self.label, ", ".join(live))
        results, seen = [], set()
        for job_id in job_ids:
            results.append(job_id in live and job_id not in seen)
            seen.add(job_id)
        return results


def _live(status: JobStatus) -> bool:
    return not status.state.terminal and status.state is not JobState.MISSING


def _never_starts(state: str, reason: str) -> bool:
    return job_state(state) in (JobState.PENDING, JobState.HELD) and never_starts(reason)


def _ended(
    job_id: str, state: str, code: int | None, signum: int | None, reason: str, cancelled: bool
) -> str:
    """What a job's end means, in words."""
    if state == "COMPLETED":
        return f"Slurm job {job_id} completed"
    how = f"Slurm job {job_id} ended {state}"
    if signum:
        how += f" (killed by signal {signum})"
    elif code:
        how += f" (exit status {code})"
    if state.startswith("CANCELLED"):
        how += (
            " by plait"
            if cancelled
            else "; it was cancelled outside plait (scancel, an administrator or preemption)"
        )
    elif state == "TIMEOUT":
        how += "; it reached its walltime"
    if reason and reason not in ("None", "NonZeroExitCode"):
        how += f"; Slurm's reason: {reason}"
    return how


def _job_name(name: str) -> str:
    """A job name Slurm accepts on an ``#SBATCH`` line."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:64] or "plait"
