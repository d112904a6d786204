"""The manager of a worker pool: one per node of a block.

Started by the block's launch command as ``python -m plait_htex.manager``. It decides
how many workers fit on the node, starts them (``python -m plait_htex.worker``, one
process each), registers with the interchange, and then supervises: it sends a
heartbeat every ``heartbeat_period``, tells the interchange when a worker dies and
which task it was running, and replaces the worker. Tasks and results do not pass
through it: workers receive tasks from the interchange and send results to the submit
side themselves, which saves two hops per task.

A worker that dies is noticed at once (a pidfd in the poll set where the OS has them,
else within ``CHECK_PERIOD``); the worker's state file holds the key of the task it was
running. Workers that die before ever connecting, ``START_FAILURES`` times in a row,
make the manager exit with status 3: the pool cannot start (their stderr is the
block's stderr). In MPI mode (``--mpi-nodes``) the manager is the only one of its block:
it finds the hosts of the block's nodes (:mod:`plait_htex.nodes`), registers them, and
starts one worker per node (``--max-workers`` to change), each of which runs the MPI
tasks the interchange places on some of the nodes. The manager exits when the
interchange has been silent for ``heartbeat_threshold`` seconds (status 4), when told
to stop, or, with a ``drain_period``, once the interchange reports its workers drained.
"""

from __future__ import annotations

import argparse
import contextlib
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

import zmq

from plait_htex import protocol
from plait_htex.curve import client_socket_options

CHECK_PERIOD = 0.5
"""Seconds between checks of every worker's process, besides pidfd notifications."""
START_FAILURES = 3
"""Workers dying before ready, in a row, that make the manager give up."""
READY_WITHIN = 60.0
"""Seconds a worker has to connect before it counts as started anyway."""
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
    """One worker: its process, its state file and its pidfd."""

    def __init__(self, rank: int, command: list[str], state_path: str) -> None:
        self.rank = rank
        with open(state_path, "wb") as file:
            file.write(bytes(protocol.KEY.size))
        self.state_path = state_path
        self.started = time.monotonic()
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        self.pidfd: int | None = None
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self.pidfd = os.pidfd_open(self.proc.pid)

    def running_key(self) -> int:
        """The key of the task the worker was running (0: none)."""
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
    """Starts and supervises one node's workers."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.id = uuid.uuid4().hex[:16]
        self.host = socket.gethostname()
        self.nodes: list[str] = []
        if args.mpi_nodes:
            from plait_htex.nodes import block_hosts

            self.nodes = block_hosts(args.mpi_nodes)
            self.count = args.max_workers or len(self.nodes)
        else:
            self.count = worker_count(args.max_workers, args.cores_per_worker, args.mem_per_worker)
        self.context = zmq.Context()
        self.state_dir = tempfile.mkdtemp(prefix="plait-htex-")
        self.ix = self.context.socket(zmq.DEALER)
        self.ix.setsockopt(zmq.LINGER, 0)
        self.ix.setsockopt(zmq.IDENTITY, self.id.encode())
        if args.curve_dir:
            client_socket_options(self.ix, args.curve_dir)
        self.ix.connect(args.interchange)
        self.workers: dict[int, WorkerProcess] = {}
        self.ready: set[int] = set()
        self.start_failures = 0
        self.started = time.monotonic()

    # --- workers ------------------------------------------------------------------------

    def start_worker(self, rank: int) -> None:
        state = os.path.join(self.state_dir, f"worker-{rank}.key")
        command = [
            sys.executable, "-m", "plait_htex.worker",
            "--interchange", self.args.interchange,
            "--results", self.args.results,
            "--manager", self.id,
            "--rank", str(rank),
            "--block", self.args.block,
            "--serializers", self.args.serializers,
            "--state", state,
        ]  # fmt: skip
        if self.args.curve_dir:
            command += ["--curve-dir", self.args.curve_dir]
        if self.args.mpi_launcher:
            command += ["--mpi-launcher", self.args.mpi_launcher]
        self.workers[rank] = WorkerProcess(rank, command, state)

    def worker_ended(self, worker: WorkerProcess) -> None:
        """Tell the interchange, count start failures, start a replacement."""
        worker.close()
        status = _signal_text(worker.proc.returncode)
        report = {
            "rank": worker.rank,
            "pid": worker.proc.pid,
            "status": status,
            "running": worker.running_key(),
        }
        self.ix.send_multipart([protocol.LOST, protocol.pack(report)])
        connected = worker.rank in self.ready or time.monotonic() - worker.started > READY_WITHIN
        self.ready.discard(worker.rank)
        if not connected:
            self.start_failures += 1
            print(
                f"plait-htex manager: worker {worker.rank} {status} before it connected",
                file=sys.stderr,
                flush=True,
            )
            if self.start_failures >= START_FAILURES:
                raise SystemExit(EXIT_CANNOT_START)
        self.start_worker(worker.rank)

    def check_workers(self) -> None:
        """Handle dead workers."""
        for worker in list(self.workers.values()):
            if worker.proc.poll() is not None:
                self.worker_ended(worker)

    # --- the interchange ------------------------------------------------------------------

    def register(self) -> None:
        """Send the registration and wait for the interchange's answer."""
        info = {
            "block": self.args.block,
            "host": self.host,
            "pid": os.getpid(),
            "workers": self.count,
            "python": platform.python_version(),
            "nodes": self.nodes,
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
            self.check_workers()
        print(
            f"plait-htex manager on {self.host}: no answer from the interchange at "
            f"{self.args.interchange} within {self.args.connect_timeout:g} s; check the "
            "executor's address (it must be reachable from this node) and firewalls",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(EXIT_NO_INTERCHANGE)

    def take_from_interchange(self) -> bool:
        """Handle every waiting message from the interchange; True to stop."""
        while True:
            try:
                frames = self.ix.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return False
            if frames[0] == protocol.STOP:
                return True
            if frames[0] == protocol.READY:  # the interchange saw a worker connect
                self.ready.add(int(protocol.unpack(frames[1])["rank"]))
                self.start_failures = 0

    def run(self) -> int:
        for rank in range(self.count):
            self.start_worker(rank)
        self.register()
        period, threshold = self.args.heartbeat_period, self.args.heartbeat_threshold
        last_from_ix = last_beat = last_check = time.monotonic()
        draining = False
        poller = zmq.Poller()
        poller.register(self.ix, zmq.POLLIN)
        watched: list[int] = []
        while True:
            fds = [w.pidfd for w in self.workers.values() if w.pidfd is not None]
            if fds != watched:
                for fd in watched:
                    poller.unregister(fd)
                for fd in fds:
                    poller.register(fd, zmq.POLLIN)
                watched = fds
            events = dict(poller.poll(int(min(period, CHECK_PERIOD) * 1000)))
            now = time.monotonic()
            if events.get(self.ix):
                last_from_ix = now
                if self.take_from_interchange():
                    return 0
            if any(fd in events for fd in watched) or now - last_check >= CHECK_PERIOD:
                last_check = now
                self.check_workers()  # new pidfds are registered on the next turn
            if now - last_beat >= period:
                last_beat = now
                self.ix.send(protocol.HEARTBEAT)
            if now - last_from_ix > threshold:
                print(
                    f"plait-htex manager on {self.host}: the interchange has been silent "
                    f"for {threshold:g} s; exiting",
                    file=sys.stderr,
                    flush=True,
                )
                return EXIT_NO_INTERCHANGE
            drain = self.args.drain_period
            if drain and not draining and now - self.started >= drain:
                draining = True  # the interchange answers STOP once the workers are idle
                self.ix.send(protocol.DRAIN)

    def close(self) -> None:
        """Stop every worker (SIGTERM, SIGKILL after a second) and release the socket."""
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
        self.context.term()
        shutil.rmtree(self.state_dir, ignore_errors=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m plait_htex.manager")
    parser.add_argument("--interchange", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--block", required=True)
    parser.add_argument("--max-workers", type=int, default=None)
    parser.add_argument("--cores-per-worker", type=float, default=1.0)
    parser.add_argument("--mem-per-worker", type=float, default=None)
    parser.add_argument("--heartbeat-period", type=float, default=2.0)
    parser.add_argument("--heartbeat-threshold", type=float, default=4.0)
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    parser.add_argument("--drain-period", type=float, default=None)
    parser.add_argument("--serializers", default="pickle")
    parser.add_argument("--curve-dir", default=None)
    parser.add_argument("--mpi-nodes", type=int, default=0, help="MPI mode: the block's nodes")
    parser.add_argument("--mpi-launcher", default=None, help="MPI mode: the launcher, as JSON")
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
