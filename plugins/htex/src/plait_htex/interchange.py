"""The interchange: a process between the submit side and the worker pools.

Started by :class:`~plait_htex.executor.HighThroughputExecutor` as
``python -m plait_htex.interchange``. One thread, one poll loop over three sockets: a PULL
socket receiving task batches and commands from the submit side, a PUSH socket sending it
result batches and events, and a ROUTER socket the managers connect to. Task frames wait
in a priority queue (lower ``priority`` first, then submission order) until a manager has
a free slot (its workers plus ``prefetch``); frames are forwarded as they are, never
decoded.

It notices a manager is lost when nothing has come from it for ``heartbeat_threshold``
seconds, and reports that manager's tasks lost to the submit side; it exits when the
submit side asks, or when its parent process (the submit side) has gone. It imports only
pyzmq and the standard library, so it starts fast.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import logging
import os
import sys
import time
from typing import Any

import zmq

from plait_htex import protocol

logger = logging.getLogger("plait_htex.interchange")


class ManagerState:
    """What the interchange knows of one connected manager."""

    def __init__(self, identity: bytes, info: dict[str, Any], prefetch: int) -> None:
        self.identity = identity
        self.block = str(info.get("block", "?"))
        self.host = str(info.get("host", "?"))
        self.pid = info.get("pid")
        self.workers = int(info.get("workers", 1))
        self.python = str(info.get("python", "?"))
        self.capacity = int(info.get("capacity", self.workers + prefetch))
        self.tasks: set[int] = set()
        self.last_seen = time.monotonic()
        self.idle_since: float | None = self.last_seen
        self.draining = False
        self.held = False

    @property
    def free(self) -> int:
        if self.draining or self.held:
            return 0
        return self.capacity - len(self.tasks)

    def describe(self) -> dict[str, Any]:
        idle_for = 0.0 if self.idle_since is None else time.monotonic() - self.idle_since
        return {
            "block": self.block,
            "host": self.host,
            "pid": self.pid,
            "workers": self.workers,
            "tasks": len(self.tasks),
            "idle_for": idle_for,
            "draining": self.draining,
        }


class Interchange:
    """The poll loop and its state."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.context = zmq.Context()
        self.auth = None
        self.from_client = self.context.socket(zmq.PULL)
        self.to_client = self.context.socket(zmq.PUSH)
        self.managers_sock = self.context.socket(zmq.ROUTER)
        for sock in (self.from_client, self.to_client, self.managers_sock):
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SNDHWM, 0)
            sock.setsockopt(zmq.RCVHWM, 0)
        self.managers_sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        if args.curve_dir:
            from plait_htex.curve import authenticator, server_socket_options

            self.auth = authenticator(self.context, args.curve_dir)
            for sock in (self.from_client, self.to_client, self.managers_sock):
                server_socket_options(sock, args.curve_dir)
        self.from_client.connect(args.client_in)
        self.to_client.connect(args.client_out)
        self.port = self._bind_managers()
        self.queue: list[tuple[int, int, int, Any]] = []
        self.queued: set[int] = set()
        self.seq = itertools.count()
        self.managers: dict[bytes, ManagerState] = {}
        self.held_blocks: set[str] = set()
        self.results: list[Any] = []
        self.parent = os.getppid()

    def _bind_managers(self) -> int:
        low, high = self.args.port_range
        address = f"tcp://{self.args.bind_address}"
        if low == 0:
            return int(self.managers_sock.bind_to_random_port(address))
        return int(self.managers_sock.bind_to_random_port(address, low, high + 1, 100))

    # --- messages -----------------------------------------------------------------------

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
                for frame in frames[1:]:
                    key, priority = protocol.TASK_HEADER.unpack_from(frame.buffer)
                    queued.add(key)
                    push(queue, (priority, next(seq), key, frame))
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
            if all(not m.tasks for m in managers):
                for manager in managers:
                    manager.held = True
                self.held_blocks.add(block)
                held.append(block)
        return held

    def take_from_managers(self) -> None:
        while True:
            try:
                frames = self.managers_sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            identity = frames[0].bytes
            kind = frames[1].bytes
            manager = self.managers.get(identity)
            if manager is not None:
                manager.last_seen = time.monotonic()
            if kind == protocol.RESULTS and manager is not None:
                tasks, key = manager.tasks, protocol.task_key
                for frame in frames[2:]:
                    tasks.discard(key(frame.buffer))
                self.results.extend(frames[2:])
                if not tasks:
                    manager.idle_since = manager.last_seen
            elif kind == protocol.REGISTER:
                self.register(identity, protocol.unpack(frames[2].buffer))
            elif kind == protocol.LOST and manager is not None:
                report = protocol.unpack(frames[2].buffer)
                for task in report["tasks"]:
                    manager.tasks.discard(int(task["key"]))
                self.event(
                    {"type": "lost", "cause": "worker", "block": manager.block,
                     "host": manager.host, "tasks": report["tasks"]}
                )  # fmt: skip
            elif kind == protocol.CAPACITY and manager is not None:
                manager.capacity = int(protocol.unpack(frames[2].buffer))
            elif kind == protocol.DRAIN and manager is not None:
                manager.draining = True
            elif manager is None and kind != protocol.REGISTER:
                # a manager we declared lost came back: tell it to stop
                self.send_manager(identity, [protocol.STOP])

    def register(self, identity: bytes, info: dict[str, Any]) -> None:
        manager = ManagerState(identity, info, self.args.prefetch)
        manager.held = manager.block in self.held_blocks
        self.managers[identity] = manager
        self.send_manager(identity, [protocol.REGISTER, protocol.pack({"ok": True})])
        self.event({"type": "registered", **manager.describe(), "python": manager.python})

    def send_manager(self, identity: bytes, frames: list[Any]) -> bool:
        try:
            self.managers_sock.send_multipart([identity, *frames], copy=False)
        except zmq.ZMQError:  # the peer has gone (ROUTER_MANDATORY)
            return False
        return True

    def manager_lost(self, manager: ManagerState, cause: str, reason: str) -> None:
        self.managers.pop(manager.identity, None)
        self.event(
            {"type": "lost", "cause": cause, "block": manager.block, "host": manager.host,
             "pid": manager.pid, "reason": reason,
             "tasks": [{"key": k} for k in sorted(manager.tasks)]}
        )  # fmt: skip
        self.send_manager(manager.identity, [protocol.STOP])

    # --- the loop -----------------------------------------------------------------------

    def dispatch(self) -> None:
        queue, queued = self.queue, self.queued
        if not queue:
            return
        for manager in list(self.managers.values()):  # a failed send removes one
            free = manager.free
            if free <= 0:
                continue
            batch = []
            while free and queue:
                _, _, key, frame = heapq.heappop(queue)
                if key not in queued:  # cancelled
                    continue
                queued.discard(key)
                manager.tasks.add(key)
                batch.append(frame)
                free -= 1
            if batch:
                manager.idle_since = None
                if not self.send_manager(manager.identity, [protocol.TASKS, *batch]):
                    self.requeue(manager, batch)  # never delivered: not lost
                    self.manager_lost(manager, "manager", "its connection closed")
            if not queue:
                return

    def requeue(self, manager: ManagerState, frames: list[Any]) -> None:
        """Put undelivered task frames back at the front of the queue."""
        for frame in frames:
            key, priority = protocol.TASK_HEADER.unpack_from(frame.buffer)
            manager.tasks.discard(key)
            self.queued.add(key)
            heapq.heappush(self.queue, (priority, -1, key, frame))

    def check_managers(self, now: float) -> None:
        threshold = self.args.heartbeat_threshold
        for manager in list(self.managers.values()):
            silent = now - manager.last_seen
            if silent > threshold:
                self.manager_lost(manager, "manager", f"no heartbeat for {silent:.1f} s")
            else:
                self.send_manager(manager.identity, [protocol.HEARTBEAT])

    def run(self) -> None:
        self.event({"type": "ready", "port": self.port, "pid": os.getpid()})
        poller = zmq.Poller()
        poller.register(self.from_client, zmq.POLLIN)
        poller.register(self.managers_sock, zmq.POLLIN)
        period = self.args.heartbeat_period
        last_check = time.monotonic()
        while True:
            events = dict(poller.poll(int(period * 500)))
            if events.get(self.managers_sock):
                self.take_from_managers()
            if events.get(self.from_client) and self.take_from_client():
                return
            self.dispatch()
            if self.results:
                self.to_client.send_multipart([protocol.RESULTS, *self.results], copy=False)
                self.results = []
            now = time.monotonic()
            if now - last_check >= period / 2:
                last_check = now
                self.check_managers(now)
                if os.getppid() != self.parent:
                    logger.warning("the submit side (pid %d) has gone; stopping", self.parent)
                    return

    def close(self) -> None:
        for identity in list(self.managers):
            self.send_manager(identity, [protocol.STOP])
        if self.auth is not None:
            self.auth.stop()
        for sock in (self.from_client, self.to_client, self.managers_sock):
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
