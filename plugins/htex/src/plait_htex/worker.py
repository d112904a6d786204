"""A worker process: runs batches of tasks for its manager, one task at a time.

Started by the manager as ``python -m plait_htex.worker``; connects a DEALER socket to
the manager's ROUTER over IPC, says it is ready, then loops: receive a batch of task
frames, run them in order, send their result frames back in one message. Before each
task it writes the task's key into a small shared file (``--state``), so that if the
task kills the process the manager knows which task did. The function's payload is
decoded once per distinct payload. A task's exception (``SystemExit`` and
``KeyboardInterrupt`` included) is sent back as a
:class:`~plait_htex.codec.RemoteFailure`; a result that no serializer can carry becomes
a :class:`~plait.errors.SerializationError`. A worker exits when its manager tells it
to (an empty frame) or dies (the parent process changes).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import mmap
import os
import signal
import socket
import sys
from typing import Any

import zmq

from plait.errors import SerializationError
from plait_htex import protocol
from plait_htex.codec import Codec, RemoteFailure

POLL_MS = 1000
"""How often an idle worker checks that its manager is alive."""


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (best effort)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


class Worker:
    """Runs tasks received on ``sock``."""

    def __init__(self, codec: Codec, where: str, state: mmap.mmap | None = None) -> None:
        self.codec = codec
        self.where = where
        self.state = state
        self._functions: dict[bytes, Any] = {}

    def run_batch(self, tasks: list[bytes]) -> list[bytes]:
        """Run task frames in order; return their result frames."""
        return [self.run_task(task) for task in tasks]

    def run_task(self, task: bytes) -> bytes:
        """Run one task frame; return its result frame."""
        if self.state is not None:
            self.state[: protocol.KEY.size] = task[: protocol.KEY.size]
        key = protocol.KEY.unpack_from(task)[0]
        start = protocol.TASK_HEADER.size
        flen = protocol.FUNC_LENGTH.unpack_from(task, start)[0]
        start += protocol.FUNC_LENGTH.size
        fbytes = task[start : start + flen]
        try:
            func = self._functions.get(fbytes)
            if func is None:
                func = self.codec.loads(fbytes)
                if len(self._functions) > 256:
                    self._functions.clear()
                self._functions[fbytes] = func
            args, kwargs = self.codec.loads(memoryview(task)[start + flen :])
            value = func(*args, **kwargs)
        except BaseException as exc:  # the task's failure, whatever it is, goes back
            return self._failure(key, exc)
        try:
            body = self.codec.dumps(value, "the task's return value")
        except SerializationError as exc:
            return self._failure(key, exc)
        return protocol.RESULT_HEADER.pack(key, protocol.OK) + body

    def _failure(self, key: int, exc: BaseException) -> bytes:
        failure = RemoteFailure.capture(exc, self.where)
        try:
            body = self.codec.dumps(failure, "the task's exception")
        except SerializationError:
            body = self.codec.dumps(failure.without_exception(), "the task's exception")
        return protocol.RESULT_HEADER.pack(key, protocol.RAISED) + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plait_htex.worker")
    parser.add_argument("--manager", required=True, help="the manager's IPC address")
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--block", required=True)
    parser.add_argument("--serializers", required=True)
    parser.add_argument("--state", default=None, help="file to write the running task's key")
    args = parser.parse_args(argv)
    die_with_parent()
    parent = os.getppid()
    where = (
        f"worker {args.rank} (pid {os.getpid()}) of block {args.block} on {socket.gethostname()}"
    )
    state = None
    if args.state:
        with open(args.state, "r+b") as file:
            state = mmap.mmap(file.fileno(), protocol.KEY.size)
    worker = Worker(Codec(args.serializers.split(",")), where, state)
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, str(args.rank).encode())
    sock.connect(args.manager)
    sock.send(protocol.READY + str(os.getpid()).encode())
    sock.setsockopt(zmq.RCVTIMEO, POLL_MS)
    try:
        while True:
            try:
                tasks = sock.recv_multipart(copy=True)
            except zmq.Again:
                if os.getppid() != parent:
                    return 0
                continue
            if not tasks[0]:
                return 0
            sock.send_multipart(worker.run_batch(tasks), copy=False)
    finally:
        sock.close()
        context.term()


if __name__ == "__main__":
    sys.exit(main())
