"""The interchange: a process between the submit side and the worker pools.

Started by :class:`~plait_htex.executor.HighThroughputExecutor` as
``python -m plait_htex.interchange``. One thread, one poll loop over three sockets: a
PULL socket receiving task batches and commands from the submit side, a PUSH socket
sending it events, and a ROUTER socket that managers and their workers connect to.
Task frames wait in a priority queue (lower ``priority`` first, then submission order)
and go to workers in batches; results go from workers straight to the submit side, and
each worker reports which tasks it finished. Frames are forwarded as they are, never
decoded.

Batches adapt to the tasks: from the durations workers report, the interchange keeps an
average task time per manager and gives a worker as many tasks as take about
``BATCH_TARGET`` seconds (one, for longer tasks), never more than an even share of the
queue. A worker holds one batch, or two when batches hold several tasks, plus
``prefetch`` more, so it never waits for the next one.

MPI tasks (a task frame asking for nodes) wait in a queue of their own until a manager
in MPI mode (one that registered the hosts of its block's nodes) has that many nodes
free and an idle worker; the worker gets the task with the hosts it was given, the
nodes are free again when the task ends, and such a worker holds one task at a time.
Other tasks wait in the other queue, so a large MPI task never holds them up (nor
does it get nodes reserved: smaller MPI tasks that fit go first).

A manager is lost when nothing has come from it for ``heartbeat_threshold`` seconds: the
tasks of its workers are reported lost to the submit side. A worker's death is reported
by its manager with the key of the task it was running: that task is reported lost, the
rest of its batch goes back to the queue. The interchange exits when the submit side
asks, or when its parent process (the submit side) has gone. It imports only pyzmq and
the standard library, so it starts fast.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import logging
import math
import os
import sys
import time
from collections import deque
from typing import Any

import zmq

from plait_htex import protocol

logger = logging.getLogger("plait_htex.interchange")

BATCH_TARGET = 0.002
"""Seconds of work one batch for one worker should hold."""
MAX_BATCH = 64
"""Most tasks in one batch."""


class ManagerState:
    """What the interchange knows of one connected manager."""

    def __init__(self, identity: bytes, info: dict[str, Any]) -> None:
        self.identity = identity
        self.id = identity.decode()
        self.block = str(info.get("block", "?"))
        self.host = str(info.get("host", "?"))
        self.pid = info.get("pid")
        self.count = int(info.get("workers", 1))
        self.python = str(info.get("python", "?"))
        self.workers: dict[int, WorkerState] = {}
        self.last_seen = time.monotonic()
        self.idle_since: float | None = self.last_seen
        self.task_time = BATCH_TARGET  # until measured: one task per batch
        self.draining = False
        self.held = False
        self.nodes: list[str] = [str(host) for host in info.get("nodes", [])]
        """The hosts of the block's nodes, for a manager in MPI mode (else empty)."""
        self.free: set[int] = set(range(len(self.nodes)))
        """Indices of the nodes no MPI task runs on."""

    @property
    def tasks(self) -> int:
        return sum(len(w.inflight) for w in self.workers.values())

    def batch_size(self) -> int:
        return max(1, min(MAX_BATCH, int(BATCH_TARGET / max(self.task_time, 1e-6))))

    def describe(self) -> dict[str, Any]:
        idle_for = 0.0 if self.idle_since is None else time.monotonic() - self.idle_since
        return {
            "block": self.block,
            "host": self.host,
            "pid": self.pid,
            "workers": self.count,
            "tasks": self.tasks,
            "idle_for": idle_for,
            "draining": self.draining,
            "nodes": len(self.nodes),
            "free_nodes": len(self.free),
        }


class WorkerState:
    """One connected worker: the task frames it holds, by key, and its batches."""

    def __init__(self, identity: bytes, manager: ManagerState, rank: int, pid: int) -> None:
        self.identity = identity
        self.manager = manager
        self.rank = rank
        self.pid = pid
        self.inflight: dict[int, Any] = {}
        self.batches = 0
        self.placed: dict[int, list[int]] = {}
        """The nodes (indices into the manager's) of the MPI task the worker holds."""
        self.waiting = False
        """True while the worker is in the interchange's queue of hungry workers."""


class Interchange:
    """The poll loop and its state."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.context = zmq.Context()
        self.auth = None
        self.from_client = self.context.socket(zmq.PULL)
        self.to_client = self.context.socket(zmq.PUSH)
        self.router = self.context.socket(zmq.ROUTER)
        for sock in (self.from_client, self.to_client, self.router):
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SNDHWM, 0)
            sock.setsockopt(zmq.RCVHWM, 0)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.router.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a replaced worker keeps its id
        if args.curve_dir:
            from plait_htex.curve import authenticator, server_socket_options

            self.auth = authenticator(self.context, args.curve_dir)
            for sock in (self.from_client, self.to_client, self.router):
                server_socket_options(sock, args.curve_dir)
        self.from_client.connect(args.client_in)
        self.to_client.connect(args.client_out)
        self.port = protocol.bind_in_range(self.router, args.bind_address, args.port_range)
        self.queue: list[tuple[int, int, int, Any]] = []
        self.mpi_queue: list[tuple[int, int, int, Any]] = []
        """MPI tasks: (priority, order, key, frame), as :attr:`queue`."""
        self.queued: set[int] = set()
        self.seq = itertools.count()
        self.managers: dict[bytes, ManagerState] = {}
        self.workers: dict[bytes, WorkerState] = {}
        self.hungry: deque[WorkerState] = deque()
        self.early: dict[bytes, list[tuple[bytes, dict[str, Any]]]] = {}
        """Workers that connected before their manager registered, by manager id."""
        self.held_blocks: set[str] = set()
        self.task_bytes = 0
        """Bytes of task frames received from the submit side (reported by ``stats``)."""
        self.parent = os.getppid()

    # --- the submit side -----------------------------------------------------------------

    def event(self, data: dict[str, Any]) -> None:
        self.to_client.send_multipart([protocol.EVENT, protocol.pack(data)])

    def take_from_client(self) -> bool:
        """Handle every waiting message from the submit side; True to stop."""
        while True:
            try:
                frames = self.from_client.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return False
            kind = frames[0].bytes
            if kind == protocol.TASKS:
                push, queue, queued, seq = heapq.heappush, self.queue, self.queued, self.seq
                self.task_bytes += sum(len(frame) for frame in frames[1:])
                for frame in frames[1:]:
                    key, priority, nodes = protocol.TASK_HEADER.unpack_from(frame.buffer)
                    queued.add(key)
                    push(self.mpi_queue if nodes else queue, (priority, next(seq), key, frame))
            elif kind == protocol.COMMAND and self.command(protocol.unpack(frames[1].buffer)):
                return True

    def command(self, cmd: dict[str, Any]) -> bool:
        """Carry out one command; True for ``stop``."""
        op = cmd.get("op")
        value: Any = None
        if op == "stop":
            return True
        if op == "stats":
            value = {
                "queued": len(self.queued),
                "task_bytes": self.task_bytes,
                "managers": [m.describe() for m in self.managers.values()],
            }
        elif op == "cancel":
            key = int(cmd["key"])
            value = key in self.queued
            self.queued.discard(key)
        elif op == "hold":
            value = self.hold([str(b) for b in cmd["blocks"]])
        elif op == "block_ended":
            block = str(cmd["block"])
            for manager in [m for m in self.managers.values() if m.block == block]:
                self.manager_lost(manager, "block", str(cmd.get("reason", "")))
        if "req" in cmd:
            self.event({"type": "reply", "req": cmd["req"], "value": value})
        return False

    def hold(self, blocks: list[str]) -> list[str]:
        """Stop sending tasks to the managers of ``blocks`` that are idle; return the
        blocks all of whose managers are now held (safe to cancel)."""
        held = []
        for block in blocks:
            managers = [m for m in self.managers.values() if m.block == block]
            if all(m.tasks == 0 for m in managers):
                for manager in managers:
                    manager.held = True
                self.held_blocks.add(block)
                held.append(block)
        return held

    # --- managers and workers ---------------------------------------------------------------

    def take_from_router(self) -> None:
        while True:
            try:
                frames = self.router.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            identity, kind = frames[0].bytes, frames[1].bytes
            if kind == protocol.DONE:
                self.done(identity, frames)
                continue
            manager = self.managers.get(identity)
            if manager is not None:
                manager.last_seen = time.monotonic()
            if kind == protocol.HEARTBEAT:
                continue
            if kind == protocol.REGISTER:
                self.register(identity, protocol.unpack(frames[2].buffer))
            elif kind == protocol.READY:
                self.worker_ready(identity, protocol.unpack(frames[2].buffer))
            elif manager is None:  # a manager declared lost came back: stop it
                self.send(identity, [protocol.STOP])
            elif kind == protocol.LOST:
                self.worker_lost(manager, protocol.unpack(frames[2].buffer))
            elif kind == protocol.DRAIN:
                manager.draining = True
                self.stop_if_drained(manager)

    def register(self, identity: bytes, info: dict[str, Any]) -> None:
        manager = ManagerState(identity, info)
        manager.held = manager.block in self.held_blocks
        self.managers[identity] = manager
        self.send(identity, [protocol.REGISTER, protocol.pack({"ok": True})])
        self.event({"type": "registered", **manager.describe(), "python": manager.python})
        for worker_identity, hello in self.early.pop(identity, []):
            self.worker_ready(worker_identity, hello)

    def worker_ready(self, identity: bytes, hello: dict[str, Any]) -> None:
        manager_id = str(hello["manager"]).encode()
        manager = self.managers.get(manager_id)
        if manager is None:  # its manager's registration has not arrived yet
            self.early.setdefault(manager_id, []).append((identity, hello))
            return
        worker = WorkerState(identity, manager, int(hello["rank"]), int(hello["pid"]))
        old = self.workers.get(identity)
        if old is not None:  # a replacement: its predecessor's tasks were handled at LOST
            self.requeue(old, list(old.inflight))
        self.workers[identity] = worker
        first = not manager.workers
        manager.workers[worker.rank] = worker
        self.make_hungry(worker)
        if first:  # the pool works: the submit side resets its block-failure count
            self.event({"type": "pool_ready", "block": manager.block, "host": manager.host})
        self.send(manager.identity, [protocol.READY, protocol.pack({"rank": worker.rank})])

    def done(self, identity: bytes, frames: list[Any]) -> None:
        worker = self.workers.get(identity)
        if worker is None:
            return
        keys = protocol.unpack_keys(frames[2].buffer)
        inflight = worker.inflight
        found = 0
        for key in keys:
            if inflight.pop(key, None) is not None:
                found += 1
                self.release(worker, key)
        if not found:
            return  # a stale report of a batch already requeued
        manager = worker.manager
        manager.last_seen = now = time.monotonic()
        took = protocol.DURATION.unpack_from(frames[3].buffer)[0] / len(keys)
        manager.task_time += 0.2 * (took - manager.task_time)
        worker.batches -= 1
        self.make_hungry(worker)
        if not inflight and manager.tasks == 0:
            manager.idle_since = now
            if manager.draining:
                self.stop_if_drained(manager)

    def worker_lost(self, manager: ManagerState, report: dict[str, Any]) -> None:
        rank, running = int(report["rank"]), int(report["running"])
        worker = manager.workers.pop(rank, None)
        if worker is None:
            return
        self.workers.pop(worker.identity, None)
        if running in worker.inflight:
            del worker.inflight[running]
            self.release(worker, running)
            task = {"key": running, "worker": rank, "pid": report.get("pid"),
                    "status": report.get("status")}  # fmt: skip
            self.event({"type": "lost", "cause": "worker", "block": manager.block,
                        "host": manager.host, "tasks": [task]})  # fmt: skip
        self.requeue(worker, list(worker.inflight))

    def requeue(self, worker: WorkerState, keys: list[int]) -> None:
        """Put tasks a worker will not run back at the front of their queue."""
        for key in keys:
            frame = worker.inflight.pop(key)
            self.release(worker, key)
            _, priority, nodes = protocol.TASK_HEADER.unpack_from(frame.buffer)
            self.queued.add(key)
            heapq.heappush(self.mpi_queue if nodes else self.queue, (priority, -1, key, frame))

    def release(self, worker: WorkerState, key: int) -> None:
        """Free the nodes of MPI task ``key`` that ``worker`` held."""
        nodes = worker.placed.pop(key, None)
        if nodes is not None:
            worker.manager.free.update(nodes)

    def manager_lost(self, manager: ManagerState, cause: str, reason: str) -> None:
        self.managers.pop(manager.identity, None)
        keys: list[int] = []
        for worker in manager.workers.values():
            self.workers.pop(worker.identity, None)
            keys.extend(worker.inflight)
        self.event(
            {"type": "lost", "cause": cause, "block": manager.block, "host": manager.host,
             "pid": manager.pid, "reason": reason, "tasks": [{"key": k} for k in sorted(keys)]}
        )  # fmt: skip
        self.send(manager.identity, [protocol.STOP])

    def stop_if_drained(self, manager: ManagerState) -> None:
        if manager.tasks == 0:
            self.send(manager.identity, [protocol.STOP])

    def send(self, identity: bytes, frames: list[Any]) -> bool:
        try:
            self.router.send_multipart([identity, *frames], copy=False)
        except zmq.ZMQError:  # the peer has gone (ROUTER_MANDATORY)
            return False
        return True

    # --- the loop -----------------------------------------------------------------------

    def make_hungry(self, worker: WorkerState) -> None:
        """Queue ``worker`` for tasks if it holds fewer batches than allowed."""
        if not worker.waiting and worker.batches < self.allowed(worker.manager):
            worker.waiting = True
            self.hungry.append(worker)

    def allowed(self, manager: ManagerState) -> int:
        """Batches a worker of ``manager`` may hold."""
        if manager.nodes:  # MPI mode: a task can run for long; hold nothing behind it
            return 1
        prefetch: int = self.args.prefetch
        return (2 if manager.batch_size() > 1 else 1) + prefetch

    def dispatch(self) -> None:
        queue, queued, hungry, pop = self.queue, self.queued, self.hungry, heapq.heappop
        while queue and hungry:
            worker = hungry.popleft()
            worker.waiting = False
            manager = worker.manager
            if self.workers.get(worker.identity) is not worker:
                continue  # gone
            if manager.held or manager.draining:
                continue  # never again: the block is going away
            if worker.batches >= self.allowed(manager):
                continue  # given an MPI task since it queued
            share = math.ceil(len(queued) / (len(hungry) + 1))
            size = min(manager.batch_size(), max(1, share))
            batch: list[Any] = []
            while len(batch) < size and queue:
                _, _, key, frame = pop(queue)
                if key not in queued:  # cancelled
                    continue
                queued.discard(key)
                worker.inflight[key] = frame
                batch.append(frame)
            if not batch:
                self.make_hungry(worker)
                return
            manager.idle_since = None
            worker.batches += 1
            if not self.send(worker.identity, [protocol.TASKS, *batch]):
                self.requeue(worker, [protocol.task_key(f.buffer) for f in batch])
                self.workers.pop(worker.identity, None)  # its manager reports the rest
                continue
            self.make_hungry(worker)

    def dispatch_mpi(self) -> None:
        """Give each MPI task that fits an idle worker of a manager with enough free
        nodes, in priority order; the others keep waiting."""
        waiting = []
        while self.mpi_queue:
            item = heapq.heappop(self.mpi_queue)
            key, frame = item[2], item[3]
            if key not in self.queued:  # cancelled
                continue
            needs = protocol.TASK_HEADER.unpack_from(frame.buffer)[2]
            worker = self.idle_worker(needs)
            if worker is None:
                waiting.append(item)
                continue
            manager = worker.manager
            nodes = sorted(manager.free)[:needs]
            manager.free.difference_update(nodes)
            self.queued.discard(key)
            worker.inflight[key] = frame
            worker.placed[key] = nodes
            worker.batches += 1
            manager.idle_since = None
            hosts = [manager.nodes[i] for i in nodes]
            if not self.send(worker.identity, [protocol.PLACED, protocol.pack(hosts), frame]):
                self.requeue(worker, [key])
                self.workers.pop(worker.identity, None)  # its manager reports the rest
        for item in waiting:
            heapq.heappush(self.mpi_queue, item)

    def idle_worker(self, nodes: int) -> WorkerState | None:
        """A worker holding no task, of a manager taking tasks with ``nodes`` free."""
        for manager in self.managers.values():
            if len(manager.free) < nodes or manager.held or manager.draining:
                continue
            for worker in manager.workers.values():
                if worker.batches == 0 and self.workers.get(worker.identity) is worker:
                    return worker
        return None

    def check_managers(self, now: float) -> None:
        threshold = self.args.heartbeat_threshold
        for manager in list(self.managers.values()):
            silent = now - manager.last_seen
            if silent > threshold:
                self.manager_lost(manager, "manager", f"no heartbeat for {silent:.1f} s")
            else:
                self.send(manager.identity, [protocol.HEARTBEAT])

    def run(self) -> None:
        self.event({"type": "ready", "port": self.port, "pid": os.getpid()})
        poller = zmq.Poller()
        poller.register(self.from_client, zmq.POLLIN)
        poller.register(self.router, zmq.POLLIN)
        period = self.args.heartbeat_period
        last_check = time.monotonic()
        while True:
            events = dict(poller.poll(int(period * 500)))
            if events.get(self.router):
                self.take_from_router()
            if events.get(self.from_client) and self.take_from_client():
                return
            if self.mpi_queue:
                self.dispatch_mpi()
            self.dispatch()
            now = time.monotonic()
            if now - last_check >= period / 2:
                last_check = now
                self.check_managers(now)
                if os.getppid() != self.parent:
                    logger.warning("the submit side (pid %d) has gone; stopping", self.parent)
                    return

    def close(self) -> None:
        for identity in list(self.managers):
            self.send(identity, [protocol.STOP])
        if self.auth is not None:
            self.auth.stop()
        for sock in (self.from_client, self.to_client, self.router):
            sock.close(linger=0)
        self.context.term()


def _port_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition(":")
    return int(low), int(high or low)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plait_htex.interchange")
    parser.add_argument("--client-in", required=True)
    parser.add_argument("--client-out", required=True)
    parser.add_argument("--bind-address", default="127.0.0.1")
    parser.add_argument("--port-range", type=_port_range, default=(0, 0))
    parser.add_argument("--heartbeat-period", type=float, default=2.0)
    parser.add_argument("--heartbeat-threshold", type=float, default=4.0)
    parser.add_argument("--prefetch", type=int, default=0)
    parser.add_argument("--curve-dir", default=None)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    interchange = Interchange(args)
    try:
        interchange.run()
    finally:
        interchange.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
