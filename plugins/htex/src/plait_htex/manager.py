"""The manager of a worker pool: one per node of a block.

Started by the block's launch command as ``python -m plait_htex.manager``. It starts its
workers (``python -m plait_htex.worker``, one process each), registers with the
interchange over a DEALER socket, and then relays: task frames from the interchange go
to idle workers in batches, result frames from workers go back in batches.

Batches adapt to the tasks: the manager keeps an average of the time a task takes
(batch round trip divided by its size) and gives a worker as many tasks as take about
``BATCH_TARGET`` seconds (one, for tasks that take longer), never more than an even
share of what is waiting. It asks the interchange for enough tasks to keep every worker
fed: two batches per worker when batches hold several tasks (else one task per worker),
plus ``prefetch``. It sends
a heartbeat every ``heartbeat_period`` and exits when the interchange has been silent
for ``heartbeat_threshold`` seconds, when told to stop, or, with a ``drain_period``, once
it has drained.

A worker that dies is noticed at once (a pidfd in the poll set where the OS has them,
else within ``CHECK_PERIOD``): the task it was running is reported lost with the exit
status or signal, tasks queued behind it go to other workers, and a new worker takes
its place. A worker writes the key of the task it is running into a shared file, so the
task that killed it is known; the other tasks of its batch are given to other workers
(any that had finished run again: their results died with the worker). Workers that
die before ever becoming ready, ``START_FAILURES`` times in a
row, make the manager exit with status 3: the pool cannot start (their stderr is the
block's stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import mmap
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from typing import Any

import zmq

from plait_htex import protocol
from plait_htex.curve import client_socket_options

CHECK_PERIOD = 0.5
"""Seconds between checks of every worker's process, besides pidfd notifications."""
START_FAILURES = 3
"""Workers dying before ready, in a row, that make the manager give up."""
BATCH_TARGET = 0.002
"""Seconds of work one batch for one worker should hold."""
MAX_BATCH = 64
"""Most tasks in one worker's batch."""
EXIT_CANNOT_START = 3
EXIT_NO_INTERCHANGE = 4


def worker_count(
    max_workers: int | None, cores_per_worker: float, mem_per_worker: float | None
) -> int:
    """How many workers fit on this node: at most ``max_workers``, one per
    ``cores_per_worker`` of the CPUs this process may use, one per ``mem_per_worker`` MB
    of available memory; at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    count = int(cores / cores_per_worker) if cores_per_worker > 0 else cores
    if mem_per_worker:
        available = _available_mb()
        if available is not None:
            count = min(count, int(available / mem_per_worker))
    if max_workers is not None:
        count = min(count, max_workers)
    return max(1, count)


def _available_mb() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _signal_text(code: int | None) -> str:
    if code is None:
        return "unknown status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class WorkerProcess:
    """One worker: its process, the tasks given to it, and its pidfd."""

    def __init__(self, rank: int, command: list[str], state_path: str) -> None:
        self.rank = rank
        self.identity = str(rank).encode()
        with open(state_path, "wb") as file:
            file.write(bytes(8))
        self.state_path = state_path
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        self.ready = False
        self.inflight: list[Any] = []
        self.sent_at = 0.0
        self.pidfd: int | None = None
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self.pidfd = os.pidfd_open(self.proc.pid)

    def running_key(self) -> int:
        """The key of the task the worker last started (0 before any)."""
        with (
            open(self.state_path, "rb") as file,
            mmap.mmap(file.fileno(), protocol.KEY.size, access=mmap.ACCESS_READ) as state,
        ):
            return protocol.task_key(state[: protocol.KEY.size])

    def close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


class Manager:
    """The relay loop of one node's worker pool."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.block = args.block
        self.host = socket.gethostname()
        self.count = worker_count(args.max_workers, args.cores_per_worker, args.mem_per_worker)
        self.context = zmq.Context()
        self.ipc_dir = tempfile.mkdtemp(prefix="plait-htex-")
        self.workers_address = f"ipc://{self.ipc_dir}/workers"
        self.workers_sock = self.context.socket(zmq.ROUTER)
        self.workers_sock.setsockopt(zmq.LINGER, 0)
        self.workers_sock.bind(self.workers_address)
        self.ix = self.context.socket(zmq.DEALER)
        self.ix.setsockopt(zmq.LINGER, 0)
        self.ix.setsockopt(zmq.IDENTITY, uuid.uuid4().hex.encode())
        if args.curve_dir:
            client_socket_options(self.ix, args.curve_dir)
        self.ix.connect(args.interchange)
        self.workers: dict[bytes, WorkerProcess] = {}
        self.workers_changed = False
        self.idle: deque[WorkerProcess] = deque()
        self.pending: deque[Any] = deque()
        self.results: list[Any] = []
        self.start_failures = 0
        self.draining = False
        self.started = time.monotonic()
        self.task_time = BATCH_TARGET  # until measured: one task per batch
        self.capacity = self.count + args.prefetch

    # --- workers ------------------------------------------------------------------------

    def worker_command(self, rank: int) -> list[str]:
        return [
            sys.executable, "-m", "plait_htex.worker",
            "--manager", self.workers_address,
            "--rank", str(rank),
            "--block", self.block,
            "--serializers", self.args.serializers,
            "--state", self.state_path(rank),
        ]  # fmt: skip

    def state_path(self, rank: int) -> str:
        return os.path.join(self.ipc_dir, f"worker-{rank}.key")

    def start_worker(self, rank: int) -> None:
        worker = WorkerProcess(rank, self.worker_command(rank), self.state_path(rank))
        self.workers[worker.identity] = worker
        self.workers_changed = True

    def worker_ended(self, worker: WorkerProcess) -> None:
        """Report the task a dead worker was running, requeue the rest, replace it."""
        worker.close()
        status = _signal_text(worker.proc.returncode)
        with contextlib.suppress(ValueError):
            self.idle.remove(worker)
        lost = []
        if worker.inflight:
            running = worker.running_key()
            for task in worker.inflight:
                key = protocol.task_key(task.buffer)
                if key == running:
                    lost.append({"key": key, "worker": worker.rank, "pid": worker.proc.pid,
                                 "status": status})  # fmt: skip
            self.pending.extendleft(
                t for t in reversed(worker.inflight) if protocol.task_key(t.buffer) != running
            )
            worker.inflight = []
        if lost:
            self.ix.send_multipart(
                [protocol.LOST, protocol.pack({"tasks": lost, "host": self.host})]
            )
        if not worker.ready:
            self.start_failures += 1
            print(f"plait-htex manager: worker {worker.rank} {status} before it was ready",
                  file=sys.stderr, flush=True)  # fmt: skip
            if self.start_failures >= START_FAILURES:
                raise SystemExit(EXIT_CANNOT_START)
        self.start_worker(worker.rank)

    def check_workers(self) -> None:
        for worker in list(self.workers.values()):
            if worker.proc.poll() is not None:
                del self.workers[worker.identity]
                self.worker_ended(worker)

    # --- the loop -----------------------------------------------------------------------

    def register(self) -> None:
        """Send the registration and wait for the interchange's answer."""
        info = {
            "block": self.block,
            "host": self.host,
            "pid": os.getpid(),
            "workers": self.count,
            "capacity": self.capacity,
            "python": platform.python_version(),
        }
        self.ix.send_multipart([protocol.REGISTER, protocol.pack(info)])
        deadline = time.monotonic() + self.args.connect_timeout
        while time.monotonic() < deadline:
            if self.ix.poll(100):
                frames = self.ix.recv_multipart()
                if frames[0] == protocol.REGISTER:
                    return
                if frames[0] == protocol.STOP:
                    raise SystemExit(0)
            self.poll_workers(0)
        print(
            f"plait-htex manager on {self.host}: no answer from the interchange at "
            f"{self.args.interchange} within {self.args.connect_timeout:g} s; check the "
            "executor's address (it must be reachable from this node) and firewalls",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(EXIT_NO_INTERCHANGE)

    def poll_workers(self, timeout_ms: int) -> None:
        """Take READY and result messages from workers (waiting up to ``timeout_ms``)."""
        sock = self.workers_sock
        if not sock.poll(timeout_ms):
            return
        while True:
            try:
                identity, *payload = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            worker = self.workers.get(identity.bytes)
            if worker is None:
                continue
            if not worker.ready and payload[0].bytes[:1] == protocol.READY:
                worker.ready = True
                self.start_failures = 0
            else:
                took = (time.monotonic() - worker.sent_at) / max(1, len(worker.inflight))
                self.task_time += 0.2 * (took - self.task_time)
                worker.inflight = []
                self.results.extend(payload)
            self.idle.append(worker)

    def batch_size(self) -> int:
        """Tasks per batch: about ``BATCH_TARGET`` seconds of work, 1 to ``MAX_BATCH``."""
        return max(1, min(MAX_BATCH, int(BATCH_TARGET / max(self.task_time, 1e-6))))

    def dispatch(self) -> None:
        send, pending = self.workers_sock.send_multipart, self.pending
        size = self.batch_size()
        while self.idle and pending:
            share = math.ceil(len(pending) / len(self.idle))
            worker = self.idle.popleft()
            batch = [pending.popleft() for _ in range(min(size, share))]
            worker.inflight = batch
            worker.sent_at = time.monotonic()
            send([worker.identity, *batch], copy=False)
        # short tasks: a second batch per worker waits here, so no worker waits for one
        capacity = self.count * size * (2 if size > 1 else 1) + self.args.prefetch
        change = abs(capacity - self.capacity)
        if change and (change * 4 >= self.capacity or size in (1, MAX_BATCH)) and not self.draining:
            self.capacity = capacity
            self.ix.send_multipart([protocol.CAPACITY, protocol.pack(capacity)])

    def flush_results(self) -> None:
        if self.results:
            self.ix.send_multipart([protocol.RESULTS, *self.results], copy=False)
            self.results = []

    def run(self) -> int:
        for rank in range(self.count):
            self.start_worker(rank)
        self.register()
        period = self.args.heartbeat_period
        threshold = self.args.heartbeat_threshold
        last_from_ix = last_beat = last_check = time.monotonic()
        poller = zmq.Poller()
        poller.register(self.ix, zmq.POLLIN)
        poller.register(self.workers_sock, zmq.POLLIN)
        pidfds: dict[int, WorkerProcess] = {}
        while True:
            if self.workers_changed:
                self.workers_changed = False
                for fd in pidfds:
                    poller.unregister(fd)
                pidfds = {w.pidfd: w for w in self.workers.values() if w.pidfd is not None}
                for fd in pidfds:
                    poller.register(fd, zmq.POLLIN)
            events = dict(poller.poll(int(min(period, CHECK_PERIOD) * 1000)))
            now = time.monotonic()
            if events.get(self.ix):
                last_from_ix = now
                if self.take_from_interchange():
                    return 0
            if events.get(self.workers_sock):
                self.poll_workers(0)
            if any(fd in pidfds for fd in events) or now - last_check >= CHECK_PERIOD:
                last_check = now
                self.check_workers()
            self.dispatch()
            self.flush_results()
            if now - last_beat >= period:
                last_beat = now
                self.ix.send(protocol.HEARTBEAT)
            if now - last_from_ix > threshold:
                print(f"plait-htex manager on {self.host}: the interchange has been silent "
                      f"for {threshold:g} s; exiting", file=sys.stderr, flush=True)  # fmt: skip
                return EXIT_NO_INTERCHANGE
            if self.args.drain_period and now - self.started >= self.args.drain_period:
                if not self.draining:
                    self.draining = True
                    self.ix.send(protocol.DRAIN)
                busy = self.pending or any(w.inflight for w in self.workers.values())
                if not busy:
                    return 0

    def take_from_interchange(self) -> bool:
        """Handle every waiting message from the interchange; True to stop."""
        while True:
            try:
                frames = self.ix.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return False
            kind = frames[0].bytes
            if kind == protocol.TASKS:
                self.pending.extend(frames[1:])
            elif kind == protocol.STOP:
                return True

    def close(self) -> None:
        """Stop every worker (SIGTERM, SIGKILL after a second) and release sockets."""
        for worker in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                worker.proc.terminate()
        deadline = time.monotonic() + 1.0
        for worker in self.workers.values():
            try:
                worker.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()
            worker.close()
        self.ix.close()
        self.workers_sock.close()
        self.context.term()
        shutil.rmtree(self.ipc_dir, ignore_errors=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m plait_htex.manager")
    parser.add_argument("--interchange", required=True)
    parser.add_argument("--block", required=True)
    parser.add_argument("--max-workers", type=int, default=None)
    parser.add_argument("--cores-per-worker", type=float, default=1.0)
    parser.add_argument("--mem-per-worker", type=float, default=None)
    parser.add_argument("--heartbeat-period", type=float, default=2.0)
    parser.add_argument("--heartbeat-threshold", type=float, default=4.0)
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    parser.add_argument("--drain-period", type=float, default=None)
    parser.add_argument("--prefetch", type=int, default=0)
    parser.add_argument("--serializers", default="pickle")
    parser.add_argument("--curve-dir", default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    manager = Manager(parse(argv))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        return manager.run()
    finally:
        manager.close()


if __name__ == "__main__":
    sys.exit(main())
