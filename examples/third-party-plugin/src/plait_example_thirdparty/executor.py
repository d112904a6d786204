"""``example-process``: runs tasks in a few worker processes."""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from plait.errors import ConfigError
from plait.interfaces import Executor, TaskDescription
from plait_example_thirdparty import protocol

_Item = tuple[Future[Any], Callable[..., Any], Sequence[Any], Mapping[str, Any]]


class WorkerLost(RuntimeError):
    """The worker process running a task exited before sending the task's outcome."""


class ProcessExecutor(Executor):
    """Runs each task in one of ``max_workers`` Python worker processes.

    A worker is a fresh interpreter (``python -m plait_example_thirdparty.worker``),
    started for the first task it runs, that takes pickled calls on its stdin and
    answers on its stdout, one task at a time; a thread of this process feeds each
    worker from a shared queue. Tasks run in parallel even when they hold the GIL, and
    a task that crashes its process fails with :class:`WorkerLost` instead of taking
    the workflow down (the worker is replaced).

    Functions travel by reference, so apps must be defined in an importable module,
    not in the script being run. ``cancel`` stops a task no worker has taken yet.
    """

    capabilities = frozenset({"cancel"})
    maturity = "alpha"

    def __init__(self, label: str = "example-process", max_workers: int = 2) -> None:
        # EXE-001: construction only validates options; start() creates threads.
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ConfigError(
                f"ProcessExecutor.max_workers={max_workers!r} must be an integer >= 1",
                option="max_workers",
            )
        self.label = label
        self.max_workers = max_workers
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._open = False
        self._open_lock = threading.Lock()  # submit() against shutdown()
        self._claim_lock = threading.Lock()  # a worker taking a task against cancel()

    def start(self, run_dir: Path) -> None:
        with self._open_lock:
            if self._threads:
                raise RuntimeError(f"executor {self.label!r} was already started")
            self._threads = [
                threading.Thread(target=self._feed, name=f"plait-{self.label}-{n}", daemon=True)
                for n in range(self.max_workers)
            ]
            for thread in self._threads:
                thread.start()
            self._open = True

    def submit(
        self,
        task: TaskDescription,
        func: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> Future[Any]:
        future: Future[Any] = Future()
        with self._open_lock:
            if not self._open:  # EXE-007: refuse at once rather than queue forever
                raise RuntimeError(f"executor {self.label!r} is not running")
            self._queue.put((future, func, args, kwargs))
        return future

    def cancel(self, future: Future[Any]) -> bool:
        with self._claim_lock:
            if not future.cancel():  # already taken by a worker, or done
                return False
            future.set_running_or_notify_cancel()  # lets concurrent.futures.wait() see it
            return True

    def shutdown(self, wait: bool = True) -> None:
        with self._open_lock:
            was_open, self._open = self._open, False
        if not was_open:
            return
        if not wait:  # return promptly: drop what has not started
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    self.cancel(item[0])
        for _ in self._threads:
            self._queue.put(None)  # each feeder stops its worker and exits
        if wait:
            for thread in self._threads:
                thread.join()

    def _claim(self, future: Future[Any]) -> bool:
        """Mark a queued task as running unless it was cancelled meanwhile."""
        with self._claim_lock:
            return not future.cancelled() and future.set_running_or_notify_cancel()

    def _feed(self) -> None:
        """One feeder thread: owns one worker process, sends it tasks one at a time."""
        worker: subprocess.Popen[bytes] | None = None
        try:
            while (item := self._queue.get()) is not None:
                future, func, args, kwargs = item
                if not self._claim(future):
                    continue
                try:
                    request = protocol.dumps((func, args, kwargs))
                    worker = worker or _spawn()
                except Exception as exc:  # EXE-007: report what cannot be run
                    future.set_exception(exc)
                    continue
                reply = _call(worker, request)
                if reply is None:
                    code = worker.wait()
                    future.set_exception(
                        WorkerLost(f"worker process {worker.pid} exited with code {code}")
                    )
                    _stop(worker)
                    worker = None  # the next task starts a new one
                else:
                    _settle(future, reply)
        finally:
            if worker is not None:
                _stop(worker)


def _spawn() -> subprocess.Popen[bytes]:
    """Start a worker that can import what this process can."""
    return subprocess.Popen(
        [sys.executable, "-m", "plait_example_thirdparty.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def _call(worker: subprocess.Popen[bytes], request: bytes) -> bytes | None:
    """Send one request and wait for its reply; None if the worker died."""
    assert worker.stdin is not None and worker.stdout is not None
    try:
        protocol.send(worker.stdin, request)
    except OSError:  # BrokenPipeError: the worker is gone
        return None
    return protocol.receive(worker.stdout)


def _settle(future: Future[Any], reply: bytes) -> None:
    """Complete ``future`` with the task's result or exception (EXE-003)."""
    try:
        ok, value, text = pickle.loads(reply)
    except Exception as exc:
        future.set_exception(RuntimeError(f"cannot read the task's outcome: {exc!r}"))
        return
    if ok:
        future.set_result(value)
    else:
        value.__cause__ = protocol.RemoteTraceback(text)
        future.set_exception(value)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Close the worker's stdin (it exits at end of input) and reap it."""
    assert worker.stdin is not None and worker.stdout is not None
    with contextlib.suppress(OSError):
        worker.stdin.close()
    worker.wait()
    worker.stdout.close()
