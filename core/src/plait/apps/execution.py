"""What runs where the task runs: staging, walltime, bash commands.

The kernel hands an executor either the app's own function in a
:class:`~plait.apps.applog.CapturedCall` (the fast path: a plain python app) or a
:class:`TaskCall` wrapping it. Both only hold picklable data, so process and remote
executors can ship them, and both capture the records the app logs to
:func:`plait.app_logger`.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from plait.apps.applog import APP_LOG_LIMIT, call_captured
from plait.apps.decorators import AppKind
from plait.data.staging import TaskStaging
from plait.errors import (
    AppTimeout,
    BashAppNoReturnError,
    BashExitFailure,
)
from plait.interfaces.types import MpiRequest
from plait.procfs import kill_session

STOP_GRACE = 3.0
"""Seconds a command past its walltime has to end after SIGTERM, before SIGKILL."""
TAIL_LINES = 10


class _WalltimeExpired(BaseException):
    """Raised asynchronously inside a python app that outlives its walltime."""


@attrs.frozen
class TaskCall:
    """A picklable wrapper that runs one app call with its options.

    ``kind`` is the app's kind; ``mpi`` the resolved MPI layout of an MPI task (an
    ``mpi_app``, or a bash app whose resource specification asks for ranks), which runs
    on the nodes its executor placed it on (:mod:`plait.apps.mpi`). Records logged to
    :func:`plait.app_logger` during the call, up to ``log_limit`` characters (0: not
    captured), come back with its value or its exception (:mod:`plait.apps.applog`).
    """

    func: Callable[..., Any]
    name: str
    kind: AppKind = "python"
    walltime: float | None = None
    staging: TaskStaging | None = None
    stdout: tuple[str, str] | None = None
    stderr: tuple[str, str] | None = None
    mpi: MpiRequest | None = None
    log_limit: int = APP_LOG_LIMIT

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        """The app's function (what error messages and ``inspect`` name)."""
        return self.func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.log_limit:
            return call_captured(self._run, args, kwargs, self.log_limit)
        return self._run(*args, **kwargs)

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        if self.staging is None:
            return self._run_app(args, kwargs)
        with self.staging.around(self.name, kwargs):
            return self._run_app(args, kwargs)

    def _run_app(self, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        if self.kind == "bash":
            result = self._run_bash(args, kwargs)
        elif self.kind == "mpi":
            from plait.apps.mpi import run_mpi_app

            result = run_mpi_app(
                self.func,
                args,
                kwargs,
                name=self.name,
                request=self.mpi or MpiRequest(1, 1, 1),
                walltime=self.walltime,
                stdout=self.stdout,
                stderr=self.stderr,
            )
        elif self.walltime is not None:
            result = _call_with_walltime(self.func, self.name, self.walltime, args, kwargs)
        else:
            result = self.func(*args, **kwargs)
        return result

    def _run_bash(self, args: Sequence[Any], kwargs: dict[str, Any]) -> int:
        command = self.func(*args, **kwargs)
        if not isinstance(command, str):
            raise BashAppNoReturnError(
                f"bash app {self.name!r} returned {type(command).__name__} "
                f"{_short(command)} instead of a command string"
            )
        env = None
        if self.mpi is not None:
            from plait.apps.mpi import mpi_environment

            env = mpi_environment(self.name, self.mpi)
        return run_command(command, self.name, self.walltime, self.stdout, self.stderr, env)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call_with_walltime(
    func: Callable[..., Any], name: str, walltime: float, args: Sequence[Any], kwargs: Any
) -> Any:
    """Run ``func`` in this thread; raise :class:`AppTimeout` inside it at walltime."""
    thread_id = threading.get_ident()
    lock = threading.Lock()
    finished = False

    def expire() -> None:
        with lock:
            if not finished:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(thread_id), ctypes.py_object(_WalltimeExpired)
                )

    timer = threading.Timer(walltime, expire)
    timer.daemon = True
    try:
        timer.start()
        try:
            return func(*args, **kwargs)
        finally:
            with lock:
                finished = True
            timer.cancel()
    except _WalltimeExpired:
        raise AppTimeout(
            f"app {name!r} was stopped after its walltime of {walltime:g} s",
            walltime=walltime,
        ) from None


def run_process(
    command: str,
    what: str,
    walltime: float | None,
    stdout: tuple[str, str] | None,
    stderr: tuple[str, str] | None,
    env: Mapping[str, str] | None = None,
) -> tuple[int, bytes | None, bytes | None]:
    """Run ``command`` with bash in a session of its own (``env`` added to the
    environment); return its exit code and its stdout and stderr when captured (the
    streams without a file; :func:`tail` gives their last lines).
    At ``walltime`` every process of the session is stopped (:func:`_stop_session`) and
    :class:`AppTimeout` names ``what``."""
    handles = [_open_stream(spec) for spec in (stdout, stderr)]
    try:
        proc = subprocess.Popen(
            command,
            shell=True,
            executable="/bin/bash",
            stdout=handles[0] if handles[0] is not None else subprocess.PIPE,
            stderr=handles[1] if handles[1] is not None else subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
        try:
            out, err = proc.communicate(timeout=walltime)
        except subprocess.TimeoutExpired:
            _stop_session(proc)
            raise AppTimeout(
                f"{what} was killed after its walltime of {walltime:g} s: {command}",
                walltime=walltime,
            ) from None
    finally:
        for handle in handles:
            if handle is not None:
                handle.close()
    return proc.returncode, out, err


def _stop_session(proc: subprocess.Popen[bytes]) -> None:
    """End every process of ``proc``'s session: SIGTERM first, so that programs can
    clean up (Open MPI's ``mpirun`` removes its session directory, whose leftovers break
    a later ``mpirun`` given the same process id), then SIGKILL for what is left after
    :data:`STOP_GRACE` seconds."""
    kill_session(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=STOP_GRACE)
    kill_session(proc.pid)
    proc.communicate()


def run_command(
    command: str,
    name: str,
    walltime: float | None,
    stdout: tuple[str, str] | None,
    stderr: tuple[str, str] | None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run a bash app's command line; return 0 or raise with its exit code and output."""
    code, out, err = run_process(command, f"bash app {name!r}", walltime, stdout, stderr, env)
    if code != 0:
        out_tail, err_tail = tail(stdout, out), tail(stderr, err)
        lines = [f"bash app {name!r} exited with code {code}: {command}"]
        for label, spec, last in (("stdout", stdout, out_tail), ("stderr", stderr, err_tail)):
            where = spec[0] if spec else "(captured)"
            lines.append(f"  {label} {where}:" + "".join(f"\n    {line}" for line in last))
        raise BashExitFailure(
            "\n".join(lines),
            exitcode=code,
            stdout=stdout[0] if stdout else None,
            stderr=stderr[0] if stderr else None,
            stdout_tail=out_tail,
            stderr_tail=err_tail,
        )
    return 0


def _open_stream(spec: tuple[str, str] | None) -> Any:
    if spec is None:
        return None
    path, mode = spec
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    return open(path, mode)


def tail(spec: tuple[str, str] | None, captured: bytes | None) -> list[str]:
    """The last lines of a stream: of its file when ``spec`` names one, else of the
    ``captured`` bytes."""
    if spec is not None:
        try:
            with open(spec[0], errors="replace") as handle:
                return list(collections.deque((ln.rstrip("\n") for ln in handle), TAIL_LINES))
        except OSError:
            return []
    text = (captured or b"").decode(errors="replace")
    return text.splitlines()[-TAIL_LINES:]
