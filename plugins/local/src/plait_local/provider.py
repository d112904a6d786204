"""LocalProvider: blocks are process groups on this host.

Each block is one ``bash`` process started in a new session (so its process group holds
every process the block starts, unless one of them leaves it with ``setsid``), watched by
one thread of the provider until the block has ended:

* the watcher waits for the block's command to exit without reaping it (a pidfd, or
  ``waitid(WNOWAIT)``), so that the process group id stays reserved while the provider
  still signals the group;
* when the command exits, processes it left running in the group get SIGTERM, then
  SIGKILL after ``kill_grace`` seconds (PRV-012); only then is the command reaped and the
  block reported ended, so a terminal state means the block's processes are gone;
* at ``walltime`` the watcher ends the group the same way and the block ends
  ``TIMEOUT`` (PRV-101), whether or not anyone calls ``status``;
* ``cancel`` sends SIGTERM to the group and wakes the watcher, which sends SIGKILL after
  ``kill_grace``; ``cancel`` returns once the blocks have ended (or after ``cmd_timeout``).

The watcher thread ends with its block, so a provider whose blocks have all ended holds
no thread and no child process (PRV-011).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import select
import shutil
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Sequence
from typing import ClassVar

import attrs

from plait.errors import ConfigError
from plait.interfaces import ExecutionProvider, JobState, JobStatus, Launcher
from plait.procfs import all_stats, has_procfs
from plait.providers import BlockFiles, check_block_counts, launcher_option
from plait.validators import (
    AttrsField,
    fraction,
    int_at_least,
    non_empty_str,
    positive_number,
    text,
    walltime_seconds,
)
from plait_local.launchers import SingleNodeLauncher

logger = logging.getLogger(__name__)

_POLL = 0.05
"""Seconds between two checks where the provider must poll (no pidfd; group members)."""


# --- option validation ------------------------------------------------------------------


_seconds = positive_number(unit="number of seconds")


def _one_node(instance: object, attribute: AttrsField, value: object) -> None:
    if value != 1:
        raise ConfigError(
            f"{type(instance).__name__}.{attribute.name}={value!r}: a local block is this "
            "one host, so nodes_per_block must be 1",
            hint="run more workers per block with tasks_per_node (the single-node launcher) "
            "or more blocks with max_blocks; use a batch-scheduler provider for several nodes",
            option=attribute.name,
        )


# --- processes ------------------------------------------------------------------------


def _bash() -> str:
    return shutil.which("bash") or "/bin/bash"


def _group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` runs (zombies do not count)."""
    if not has_procfs():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return any(stat.pgrp == pgid and stat.live for stat in all_stats())


def _signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to process group ``pgid`` (after SIGTERM, SIGCONT too, so that a
    stopped process handles the SIGTERM at once)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
        if signum == signal.SIGTERM:
            os.killpg(pgid, signal.SIGCONT)


class _ExitWaiter:
    """Waits until a child process exits, without reaping it, or until woken.

    Linux: a pidfd polled together with a wake-up pipe. Elsewhere: the pipe is polled
    with a short timeout and the child checked with ``waitid(WNOWAIT)`` (or, lacking it,
    ``Popen.poll``, which reaps).
    """

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._pidfd: int | None = None
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self._pidfd = os.pidfd_open(proc.pid)
        self._closed = False
        self._lock = threading.Lock()

    def exited(self) -> bool:
        """True once the child has exited (it stays a zombie where waitid allows)."""
        if self.proc.returncode is not None:
            return True
        if hasattr(os, "waitid"):
            try:
                return (
                    os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                    is not None
                )
            except ChildProcessError:
                return True
        return self.proc.poll() is not None

    def wait(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: no limit) for the exit or a wake-up;
        True when the child has exited."""
        if self.exited():
            return True
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        if self._pidfd is not None:
            poller.register(self._pidfd, select.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self._pidfd is None:
                left = _POLL if left is None else min(left, _POLL)
            events = poller.poll(None if left is None else math.ceil(left * 1000))
            woken = any(fd == self._wake_r for fd, _ in events)
            if woken:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
            if self.exited():
                return True
            if woken or (deadline is not None and time.monotonic() >= deadline):
                return False

    def wake(self) -> None:
        """Make a running :meth:`wait` return (it rechecks the deadlines)."""
        with self._lock:
            if not self._closed:
                with contextlib.suppress(BlockingIOError):
                    os.write(self._wake_w, b"!")

    def close(self) -> None:
        """Release the descriptors."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            fds = [self._wake_r, self._wake_w]
            if self._pidfd is not None:
                fds.append(self._pidfd)
            for fd in fds:
                os.close(fd)


@attrs.define(eq=False)
class _Block:
    """One block: its command's process and what the provider knows about it."""

    job_id: str
    proc: subprocess.Popen[bytes]
    waiter: _ExitWaiter
    stdout_path: str
    stderr_path: str
    walltime_deadline: float | None
    state: JobState = JobState.RUNNING
    exit_code: int | None = None
    message: str | None = None
    stopping: JobState | None = None
    """CANCELLED or TIMEOUT once the provider has decided to end the block."""
    kill_at: float | None = None
    """When to send SIGKILL to a block that is being ended."""
    exited: bool = False
    """True once the command has exited (the block may still be ending its leftovers)."""
    done: threading.Event = attrs.field(factory=threading.Event)

    @property
    def pgid(self) -> int:
        return self.proc.pid


# --- the provider -----------------------------------------------------------------------


@attrs.define(eq=False)
class LocalProvider(ExecutionProvider):
    """Runs blocks on this host, each as a process group running ``bash``.

    A block runs ``worker_init`` (a shell snippet, e.g. ``source venv/bin/activate``)
    and then ``launcher(command, tasks_per_node, 1)``, with the provider's environment
    and working directory. Its stdout and stderr go to
    ``<script_dir>/<job_name>.<job id>.stdout`` and ``.stderr`` next to the script it
    ran (``.sh``); without a ``script_dir`` to a temporary directory of the provider
    (``plait-local-*`` under ``$TMPDIR``), which it leaves in place for you to read.

    Options, as in Parsl's ``LocalProvider``: ``init_blocks``, ``min_blocks``,
    ``max_blocks`` and ``parallelism`` (read by the kernel's scaling strategy, see
    :mod:`plait.scaling.strategy`), ``nodes_per_block``
    (must be 1: a block is this one host), ``status_polling_interval`` (seconds),
    ``walltime`` (seconds or ``"HH:MM:SS"``; None, the default, is no limit; unlike
    Parsl, it is enforced: the block's processes get SIGTERM at the walltime and SIGKILL
    ``kill_grace`` seconds later, and the block ends ``TIMEOUT``), ``launcher`` (an
    instance, the name of an installed launcher, or a table with ``kind``; default
    ``single-node``), ``worker_init`` and ``cmd_timeout`` (the most seconds ``cancel``
    waits for the blocks it stops to end). ``kill_grace`` is the time processes get
    between SIGTERM and SIGKILL. Invalid values raise
    :class:`~plait.errors.ConfigError` naming the option (PRV-001).

    Capabilities ``walltime`` (PRV-101) and ``std_streams`` (PRV-102).
    """

    label: str = attrs.field(default="local", validator=non_empty_str)
    init_blocks: int = attrs.field(default=1, validator=int_at_least(0))
    min_blocks: int = attrs.field(default=0, validator=int_at_least(0))
    max_blocks: int = attrs.field(default=1, validator=int_at_least(0))
    nodes_per_block: int = attrs.field(default=1, validator=[int_at_least(1), _one_node])
    parallelism: float = attrs.field(default=1.0, validator=fraction)
    status_polling_interval: float = attrs.field(default=5.0, validator=_seconds)
    walltime: float | None = attrs.field(default=None, converter=walltime_seconds)
    launcher: Launcher = attrs.field(default=SingleNodeLauncher(), converter=launcher_option)
    worker_init: str = attrs.field(default="", validator=text())
    cmd_timeout: float = attrs.field(default=30.0, validator=_seconds)
    kill_grace: float = attrs.field(default=5.0, validator=_seconds)

    capabilities: ClassVar[frozenset[str]] = frozenset({"walltime", "std_streams"})
    maturity: ClassVar[str] = "alpha"

    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)
    _blocks: dict[str, _Block] = attrs.field(factory=dict, init=False, repr=False)
    _files: BlockFiles = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        check_block_counts(self)
        self._files = BlockFiles(self, "local")

    # --- submit -------------------------------------------------------------------------

    def submit(self, command: str, tasks_per_node: int, job_name: str = "plait.block") -> str:
        """Start a block running ``worker_init`` and the launch line of ``command``;
        return its job id (``local-1``, ``local-2``, ...) at once (PRV-004)."""
        line = self.launcher(command, tasks_per_node, self.nodes_per_block)
        script = f"{self.worker_init}\n{line}\n" if self.worker_init.strip() else f"{line}\n"
        number, paths = self._files.next(job_name, tag="local-")
        job_id = f"local-{number}"
        script_path = paths.script
        stdout_path, stderr_path = str(paths.stdout), str(paths.stderr)
        script_path.write_text(script)
        with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen(
                [_bash(), str(script_path)],
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
                close_fds=True,
            )
        started = time.monotonic()
        try:
            block = _Block(
                job_id,
                proc,
                _ExitWaiter(proc),
                stdout_path,
                stderr_path,
                None if self.walltime is None else started + self.walltime,
            )
            watcher = threading.Thread(
                target=self._watch, args=(block,), name=f"plait-{job_id}-watcher", daemon=True
            )
            with self._lock:
                self._blocks[job_id] = block
            with _LIVE_LOCK:
                _LIVE.add(self)
            watcher.start()
        except BaseException:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            with self._lock:
                self._blocks.pop(job_id, None)
            raise
        logger.debug("%s: block %s started (pid %d): %s", self.label, job_id, proc.pid, script_path)
        return job_id

    # --- the watcher --------------------------------------------------------------------

    def _watch(self, block: _Block) -> None:
        """Owns ``block`` until it has ended: walltime, SIGKILL escalation, leftovers."""
        try:
            while not block.waiter.wait(self._next_deadline(block)):
                self._on_deadline(block)
            with self._lock:
                block.exited = True
            self._end_leftovers(block)
            returncode = block.proc.wait()
            self._finish(block, returncode)
        except BaseException as exc:  # pragma: no cover - a bug or interpreter shutdown
            logger.exception("%s: watching block %s failed", self.label, block.job_id)
            with self._lock:
                if not block.state.terminal:
                    block.state = JobState.FAILED
                    block.message = f"the provider lost track of the block: {exc!r}"
            _signal_group(block.pgid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                block.proc.wait(self.cmd_timeout)
        finally:
            block.waiter.close()
            block.done.set()

    def _next_deadline(self, block: _Block) -> float | None:
        """Seconds until the watcher must act on its own (None: only on exit or wake)."""
        with self._lock:
            deadlines = [block.kill_at]
            if block.stopping is None:
                deadlines.append(block.walltime_deadline)
        pending = [d for d in deadlines if d is not None]
        return None if not pending else max(0.0, min(pending) - time.monotonic())

    def _on_deadline(self, block: _Block) -> None:
        """Act on whatever deadline has passed: walltime (SIGTERM) or grace (SIGKILL)."""
        now = time.monotonic()
        send: int | None = None
        with self._lock:
            if block.kill_at is not None and now >= block.kill_at:
                block.kill_at = None
                send = signal.SIGKILL
            elif (
                block.stopping is None
                and block.walltime_deadline is not None
                and now >= block.walltime_deadline
            ):
                block.stopping = JobState.TIMEOUT
                block.kill_at = now + self.kill_grace
                send = signal.SIGTERM
        if send is not None:
            logger.info(
                "%s: block %s %s: %s",
                self.label,
                block.job_id,
                "did not end" if send == signal.SIGKILL else "reached its walltime",
                signal.Signals(send).name,
            )
            _signal_group(block.pgid, send)

    def _end_leftovers(self, block: _Block) -> None:
        """The command has exited (unreaped, so its pid still reserves the group id):
        end what it left running in its group, SIGTERM then SIGKILL (PRV-012)."""
        if not _group_alive(block.pgid):
            return
        _signal_group(block.pgid, signal.SIGTERM)
        deadline = time.monotonic() + self.kill_grace
        while _group_alive(block.pgid):
            if time.monotonic() >= deadline:
                _signal_group(block.pgid, signal.SIGKILL)
                break
            time.sleep(_POLL)
        else:
            return
        deadline = time.monotonic() + self.cmd_timeout
        while _group_alive(block.pgid):
            if time.monotonic() >= deadline:
                logger.warning(
                    "%s: processes of block %s (process group %d) outlived SIGKILL",
                    self.label,
                    block.job_id,
                    block.pgid,
                )
                return
            time.sleep(_POLL)

    def _finish(self, block: _Block, returncode: int) -> None:
        """Record the final state of a block whose processes have ended."""
        with self._lock:
            if block.stopping is JobState.CANCELLED:
                block.state, block.message = JobState.CANCELLED, "cancelled"
            elif block.stopping is JobState.TIMEOUT:
                block.state = JobState.TIMEOUT
                block.message = f"ended at its walltime of {self.walltime} s"
            else:
                code = returncode if returncode >= 0 else 128 - returncode
                block.exit_code = code
                block.state = JobState.COMPLETED if code == 0 else JobState.FAILED
                if returncode < 0:
                    name = _signal_name(-returncode)
                    block.message = f"the command was killed by {name} (not by the provider)"
                elif code != 0:
                    block.message = f"the command exited with status {code}"
        logger.debug("%s: block %s ended %s", self.label, block.job_id, block.state.name)

    # --- status and cancel --------------------------------------------------------------

    def status(self, job_ids: Sequence[str]) -> list[JobStatus]:
        """One status per id (PRV-005): ``RUNNING`` until the block and all its processes
        have ended, then ``COMPLETED``/``FAILED`` (with ``exit_code``), ``CANCELLED`` or
        ``TIMEOUT``; ``MISSING`` for ids this provider never issued."""
        statuses = []
        with self._lock:
            for job_id in job_ids:
                block = self._blocks.get(job_id)
                if block is None:
                    statuses.append(
                        JobStatus(JobState.MISSING, message=f"{self.label}: no block {job_id!r}")
                    )
                    continue
                statuses.append(
                    JobStatus(
                        block.state,
                        message=block.message,
                        exit_code=block.exit_code,
                        stdout_path=block.stdout_path,
                        stderr_path=block.stderr_path,
                    )
                )
        return statuses

    def cancel(self, job_ids: Sequence[str]) -> list[bool]:
        """Stop blocks: SIGTERM to each block's process group, SIGKILL ``kill_grace``
        seconds later to what is left; returns once they have ended (at most
        ``cmd_timeout`` seconds). True for each block this call stopped; False for
        unknown ids and blocks that had ended or were already ending (PRV-009)."""
        results: list[bool] = []
        stopped: list[_Block] = []
        ending: list[_Block] = []
        now = time.monotonic()
        with self._lock:
            for job_id in job_ids:
                block = self._blocks.get(job_id)
                if block is None or block.exited or block.stopping is not None:
                    results.append(False)
                    if block is not None and not block.done.is_set():
                        ending.append(block)
                    continue
                block.stopping = JobState.CANCELLED
                block.kill_at = now + self.kill_grace
                stopped.append(block)
                results.append(True)
        for block in stopped:
            _signal_group(block.pgid, signal.SIGTERM)
            block.waiter.wake()
        deadline = time.monotonic() + self.cmd_timeout
        for block in [*stopped, *ending]:
            if not block.done.wait(max(0.0, deadline - time.monotonic())):
                logger.warning(
                    "%s: block %s did not end within cmd_timeout=%g s of cancel()",
                    self.label,
                    block.job_id,
                    self.cmd_timeout,
                )
        return results

    def _live_job_ids(self) -> list[str]:
        with self._lock:
            return [j for j, b in self._blocks.items() if not b.done.is_set()]


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


# --- at interpreter exit: end the blocks nobody cancelled --------------------------------

_LIVE: weakref.WeakSet[LocalProvider] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()
_PID = os.getpid()


@atexit.register
def _cancel_leftover_blocks() -> None:
    """Blocks still running when the interpreter exits are cancelled, so that a script
    that forgot to shut its executor down leaves no process behind (not in a forked
    child, whose blocks are its parent's)."""
    if os.getpid() != _PID:
        return
    with _LIVE_LOCK:
        providers = list(_LIVE)
    for provider in providers:
        live = provider._live_job_ids()
        if live:
            logger.warning("%s: cancelling blocks %s at exit", provider.label, ", ".join(live))
            provider.cancel(live)
