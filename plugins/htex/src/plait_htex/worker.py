"""A worker process: runs batches of tasks, one task at a time.

Started by its manager as ``python -m plait_htex.worker``. It connects a DEALER socket
to the interchange (identity ``<manager id>.<rank>``), says it is ready, then loops:
receive a batch of task frames, run them in order, push their result frames straight
to the submit side, and tell the interchange the batch is done (its keys and how long
it took, from which the interchange sizes the next batches). Before each task it writes
the task's key into a small file shared with its manager (``--state``), and clears it
after, so that if a task kills the process the manager knows which task did. The
function's payload is decoded once per distinct payload. The records a task logs to
:func:`plait.app_logger` travel in its result frame, apart from its value
(:data:`~plait_htex.protocol.LOGGED`), so that serializers see the value alone. A task's exception
(``SystemExit`` and ``KeyboardInterrupt`` included) is sent back as a
:class:`~plait_htex.remote.RemoteFailure`; a result that no serializer can carry becomes
a :class:`~plait.errors.SerializationError`. A worker in MPI mode (``--mpi-launcher``)
also takes MPI tasks placed on nodes, and runs each inside
:func:`plait.apps.mpi.placed` with those hosts and its launcher. A worker exits when its
manager dies (the parent process changes; on Linux the kernel also kills it at once).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import mmap
import os
import signal
import socket
import sys
import time
from typing import Any

import zmq

from plait.apps.applog import attach_logs, split_result
from plait.apps.mpi import MpiPlacement, placed
from plait.config.config import build_component
from plait.errors import PlaitError, SerializationError
from plait.interfaces import Launcher
from plait.serialization import SerializerChain
from plait_htex import protocol
from plait_htex.curve import client_socket_options
from plait_htex.remote import Place, RemoteFailure

POLL_MS = 1000
"""How often an idle worker checks that its manager is alive."""
NO_TASK = bytes(protocol.KEY.size)
"""The state file's content while no task runs."""


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

    def __init__(
        self,
        chain: SerializerChain,
        where: Place,
        state: mmap.mmap | None = None,
        mpi_launcher: Launcher | None = None,
    ) -> None:
        self.chain = chain
        self.mpi_launcher = mpi_launcher
        self._chains: dict[bytes, SerializerChain] = {}
        self.where = where
        self.state = state
        self._functions: dict[bytes, Any] = {}

    def run_batch(self, tasks: list[bytes]) -> list[bytes]:
        """Run task frames in order; return their result frames."""
        results = [self.run_task(task) for task in tasks]
        if self.state is not None:
            self.state[: protocol.KEY.size] = NO_TASK
        return results

    def run_task(self, task: bytes) -> bytes:
        """Run one task frame; return its result frame."""
        if self.state is not None:
            self.state[: protocol.KEY.size] = task[: protocol.KEY.size]
        key = protocol.KEY.unpack_from(task)[0]
        start = protocol.TASK_HEADER.size
        flen = protocol.FUNC_LENGTH.unpack_from(task, start)[0]
        start += protocol.FUNC_LENGTH.size
        fbytes = task[start : start + flen]
        start += flen
        slen = protocol.FUNC_LENGTH.unpack_from(task, start)[0]
        start += protocol.FUNC_LENGTH.size
        spec = task[start : start + slen]
        start += slen
        try:
            func = self._functions.get(fbytes)
            if func is None:
                func = self.chain.loads(fbytes)
                if len(self._functions) > 256:
                    self._functions.clear()
                self._functions[fbytes] = func
            args, kwargs = self.chain.loads(memoryview(task)[start:])
            chain = self.chain_for(spec) if spec else self.chain
            value = func(*args, **kwargs)
        except BaseException as exc:  # the task's failure, whatever it is, goes back
            return self._failure(key, exc)
        value, logs = split_result(value)
        try:
            body = chain.dumps(value, "the task's return value")
        except SerializationError as exc:
            if logs is not None:
                attach_logs(exc, logs)
            return self._failure(key, exc)
        if logs is None:
            return protocol.RESULT_HEADER.pack(key, protocol.OK) + body
        records = self.chain.dumps(logs, "the task's app log records")
        return b"".join(
            (
                protocol.RESULT_HEADER.pack(key, protocol.LOGGED),
                protocol.FUNC_LENGTH.pack(len(records)),
                records,
                body,
            )
        )

    def run_placed(self, hosts: list[str], tasks: list[bytes]) -> list[bytes]:
        """Run MPI task frames on the nodes ``hosts`` with this worker's MPI launcher."""
        if self.mpi_launcher is None:
            return self.run_batch(tasks)  # the task says it was not placed
        with placed(MpiPlacement(self.mpi_launcher, tuple(hosts))):
            return self.run_batch(tasks)

    def chain_for(self, spec: bytes) -> SerializerChain:
        """The chain of an app's own serializers, built once per distinct spec."""
        chain = self._chains.get(spec)
        if chain is None:
            chain = self._chains[spec] = SerializerChain.from_spec(json.loads(spec))
        return chain

    def _failure(self, key: int, exc: BaseException) -> bytes:
        failure = RemoteFailure.capture(exc, self.where)
        try:
            body = self.chain.dumps(failure, "the task's exception")
        except SerializationError:
            body = self.chain.dumps(failure.without_exception(), "the task's exception")
        return protocol.RESULT_HEADER.pack(key, protocol.RAISED) + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plait_htex.worker")
    parser.add_argument("--interchange", required=True, help="the interchange's address")
    parser.add_argument("--results", required=True, help="the submit side's result address")
    parser.add_argument("--manager", required=True, help="the manager's id")
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--block", required=True)
    parser.add_argument("--serializers", required=True, help="the chain's spec, as JSON")
    parser.add_argument("--state", default=None, help="file to write the running task's key")
    parser.add_argument("--curve-dir", default=None)
    parser.add_argument("--mpi-launcher", default=None, help="MPI mode: the launcher, as JSON")
    args = parser.parse_args(argv)
    die_with_parent()
    parent = os.getppid()
    host = socket.gethostname()
    where = Place(args.rank, os.getpid(), args.block, host)
    state = None
    if args.state:
        with open(args.state, "r+b") as file:
            state = mmap.mmap(file.fileno(), protocol.KEY.size)
    try:
        chain = SerializerChain.from_spec(json.loads(args.serializers))
        launcher = None
        if args.mpi_launcher:
            launcher = build_component(
                "launcher", json.loads(args.mpi_launcher), "mpi_launcher", check_maturity=False
            )
    except PlaitError as exc:  # a plugin missing here: say which to install
        print(f"plait-htex worker on {host}: {exc}", file=sys.stderr, flush=True)
        return 2
    worker = Worker(chain, where, state, launcher)
    context = zmq.Context()
    tasks_sock = context.socket(zmq.DEALER)
    results_sock = context.socket(zmq.PUSH)
    for sock in (tasks_sock, results_sock):
        sock.setsockopt(zmq.LINGER, 0)
        if args.curve_dir:
            client_socket_options(sock, args.curve_dir)
    tasks_sock.setsockopt(zmq.IDENTITY, f"{args.manager}.{args.rank}".encode())
    tasks_sock.setsockopt(zmq.RCVTIMEO, POLL_MS)
    results_sock.setsockopt(zmq.LINGER, -1)  # results already computed are delivered
    tasks_sock.connect(args.interchange)
    results_sock.connect(args.results)
    hello = {"manager": args.manager, "rank": args.rank, "pid": os.getpid()}
    tasks_sock.send_multipart([protocol.READY, protocol.pack(hello)])
    clock = time.monotonic
    try:
        while True:
            try:
                frames = tasks_sock.recv_multipart(copy=True)
            except zmq.Again:
                if os.getppid() != parent:
                    return 0
                continue
            started = clock()
            if frames[0] == protocol.TASKS:
                tasks = frames[1:]
                results = worker.run_batch(tasks)
            elif frames[0] == protocol.PLACED:
                tasks = frames[2:]
                results = worker.run_placed(protocol.unpack(frames[1]), tasks)
            else:
                continue
            results_sock.send_multipart([protocol.RESULTS, *results], copy=False)
            keys = b"".join(task[: protocol.KEY.size] for task in tasks)
            tasks_sock.send_multipart(
                [protocol.DONE, keys, protocol.DURATION.pack(clock() - started)]
            )
    finally:
        tasks_sock.close()
        results_sock.close(linger=1000)
        context.term()


if __name__ == "__main__":
    sys.exit(main())
