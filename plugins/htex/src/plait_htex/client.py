"""The submit side's connections: to the interchange, and from the workers.

:class:`InterchangeClient` binds a PUSH socket (tasks and commands out) and a PULL
socket (events in) on the loopback interface, starts the interchange process, which
connects to both, and waits for its ``ready`` event naming the port managers and
workers connect to. A third socket, a PULL bound where workers can reach it, receives
results straight from the workers. Two threads own the sockets: the sender batches
whatever was queued since its last send into one message; the receiver hands result
batches and events to the executor's callbacks, answers
:meth:`InterchangeClient.command` calls, and notices within ``LIVENESS_PERIOD`` seconds
when the interchange process has died.
"""

from __future__ import annotations

import itertools
import logging
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import zmq

from plait.concurrency import LightFuture
from plait.errors import InterchangeLostError
from plait.scaling.blocks import stderr_tail
from plait_htex import protocol
from plait_htex.curve import authenticator, client_socket_options, server_socket_options

logger = logging.getLogger(__name__)

LIVENESS_PERIOD = 0.2
"""Seconds between checks that the interchange process is alive."""
MAX_BATCH = 4096
"""Most task frames sent to the interchange in one message."""
DIRECT_AFTER = 0.0002
"""A task submitted this many seconds after the previous one is sent at once, by the
submitting thread, rather than handed to the sender thread."""

ResultsHandler = Callable[[list[Any]], None]
EventHandler = Callable[[dict[str, Any]], None]
LostHandler = Callable[[InterchangeLostError], None]


class InterchangeClient:
    """Starts the interchange and moves messages to and from it."""

    def __init__(
        self,
        label: str,
        log_dir: Path,
        interchange_args: Sequence[str],
        results_bind: str,
        port_range: tuple[int, int],
        curve_dir: Path | None,
        on_results: ResultsHandler,
        on_event: EventHandler,
        on_lost: LostHandler,
    ) -> None:
        self.label = label
        self.log_path = log_dir / "interchange.log"
        self._interchange_args = list(interchange_args)
        self._curve_dir = curve_dir
        self._on_results = on_results
        self._on_event = on_event
        self._on_lost = on_lost
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._auth = authenticator(self.context, curve_dir) if curve_dir else None
        self._out = self._socket(zmq.PUSH)
        self._in = self._socket(zmq.PULL)
        self._results = self._socket(zmq.PULL, server=True)
        out_port = self._out.bind_to_random_port("tcp://127.0.0.1")
        in_port = self._in.bind_to_random_port("tcp://127.0.0.1")
        self.results_port = protocol.bind_in_range(self._results, results_bind, port_range)
        self._addresses = (f"tcp://127.0.0.1:{out_port}", f"tcp://127.0.0.1:{in_port}")
        self._outbox: queue.SimpleQueue[bytes | tuple[bytes, bytes] | None] = queue.SimpleQueue()
        self._replies: dict[int, LightFuture[Any]] = {}
        self._send_lock = threading.Lock()
        self._last_task = 0.0
        self._requests = itertools.count()
        self._stopping = False
        self.lost: InterchangeLostError | None = None
        """Set once the interchange process has died."""
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._ready = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name=f"plait-{label}-send")
        self._receiver = threading.Thread(target=self._receive_loop, name=f"plait-{label}-recv")

    def _socket(self, kind: int, server: bool = False) -> zmq.Socket[bytes]:
        sock = self.context.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.setsockopt(zmq.RCVHWM, 0)
        if self._curve_dir is not None:
            options = server_socket_options if server else client_socket_options
            options(sock, self._curve_dir)
        return sock

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float) -> int:
        """Start the interchange; return the port managers connect to, once it is ready.

        Raises :class:`~plait.errors.InterchangeLostError` with the interchange's log
        when it exits or is not ready within ``timeout`` seconds.
        """
        command = [
            sys.executable, "-m", "plait_htex.interchange",
            "--client-in", self._addresses[0],
            "--client-out", self._addresses[1],
            *self._interchange_args,
        ]  # fmt: skip
        if self._curve_dir is not None:
            command += ["--curve-dir", str(self._curve_dir)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self._sender.start()
        self._receiver.start()
        if not self._ready.wait(timeout) or self.port is None:
            error = self.lost_error(f"did not start within {timeout:g} s")
            self.stop(timeout=1.0)
            raise error
        return self.port

    def lost_error(self, what: str) -> InterchangeLostError:
        """An error saying the interchange ``what``, with its exit status and log tail."""
        code = self.proc.poll() if self.proc is not None else None
        text = f"the interchange of executor {self.label!r} {what}"
        if code is not None:
            text += f" (exit status {code})"
        tail = stderr_tail(str(self.log_path))
        if tail:
            text += f"; last lines of {self.log_path}:\n    " + tail.replace("\n", "\n    ")
        return InterchangeLostError(text, executor=self.label, log=str(self.log_path))

    def stop(self, timeout: float) -> None:
        """Ask the interchange to stop, wait ``timeout`` s for it (then kill it), stop
        both threads and close the sockets."""
        if self.proc is not None and self.proc.poll() is None and self._sender.is_alive():
            self._outbox.put((protocol.COMMAND, protocol.pack({"op": "stop"})))
        self._stopping = True
        self._outbox.put(None)
        if self._sender.is_alive():
            self._sender.join()
        if self.proc is not None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s: the interchange did not stop; killing it", self.label)
                self.proc.kill()
                self.proc.wait()
        if self._receiver.is_alive():
            self._receiver.join()
        for sock in (self._out, self._in, self._results):
            sock.close(linger=0)
        if self._auth is not None:
            self._auth.stop()
        self.context.term()

    # --- sending (any thread) ----------------------------------------------------------

    def send_task(self, frame: bytes) -> None:
        """Send one task frame: at once when tasks come one at a time (lowest latency),
        else queued for the sender thread's next batch (highest throughput)."""
        now = time.perf_counter()
        alone = now - self._last_task >= DIRECT_AFTER and self._outbox.empty()
        self._last_task = now
        if alone:
            self._send([protocol.TASKS, frame])
        else:
            self._outbox.put(frame)

    def command(self, op: str, timeout: float = 30.0, **args: Any) -> Any:
        """Send a command and wait for the interchange's answer; raises
        :class:`~plait.errors.InterchangeLostError` once the interchange has died."""
        if self.lost is not None:
            raise self.lost
        req = next(self._requests)
        future: LightFuture[Any] = LightFuture()
        self._replies[req] = future
        self._outbox.put((protocol.COMMAND, protocol.pack({"op": op, "req": req, **args})))
        try:
            return future.result(timeout)
        finally:
            self._replies.pop(req, None)

    def _send_loop(self) -> None:
        outbox = self._outbox
        while True:
            item = outbox.get()
            tasks: list[bytes] = []
            while item is not None:
                if isinstance(item, bytes):
                    tasks.append(item)
                    if len(tasks) >= MAX_BATCH:
                        self._send([protocol.TASKS, *tasks])
                        tasks = []
                else:
                    if tasks:
                        self._send([protocol.TASKS, *tasks])
                        tasks = []
                    self._send(list(item))
                try:
                    item = outbox.get_nowait()
                except queue.Empty:
                    break
            if tasks:
                self._send([protocol.TASKS, *tasks])
            if item is None:
                return

    def _send(self, frames: list[bytes]) -> None:
        """Send without blocking for good: a PUSH socket whose peer has gone would wait
        forever, so retry every 10 ms and drop the message once the interchange is lost
        or the client is stopping."""
        sock = self._out
        while True:
            with self._send_lock:  # the sender thread and direct sends share the socket
                try:
                    sock.send_multipart(frames, zmq.NOBLOCK, copy=False)
                    return
                except zmq.Again:
                    if self.lost is not None or self._stopping:
                        return
            time.sleep(0.01)  # no peer yet, or a full queue: rare, not on the fast path

    # --- receiving (the receiver thread) ------------------------------------------------

    def _receive_loop(self) -> None:
        proc = self.proc
        assert proc is not None
        poller = zmq.Poller()
        poller.register(self._in, zmq.POLLIN)
        poller.register(self._results, zmq.POLLIN)
        next_check = time.monotonic() + LIVENESS_PERIOD
        while True:
            for sock, _ in poller.poll(int(LIVENESS_PERIOD * 1000)):
                while True:
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    self._take(frames)
            now = time.monotonic()
            if now >= next_check:
                next_check = now + LIVENESS_PERIOD
                if proc.poll() is not None:
                    self.lost = self.lost_error(
                        "stopped" if self._stopping else "exited unexpectedly"
                    )
                    for future in list(self._replies.values()):
                        if not future.done():
                            future.set_exception(self.lost)
                    if not self._stopping:
                        self._on_lost(self.lost)
                    return

    def _take(self, frames: list[Any]) -> None:
        kind = frames[0].bytes
        if kind == protocol.RESULTS:
            self._on_results(frames[1:])
            return
        event = protocol.unpack(frames[1].buffer)
        if event["type"] == "reply":
            future = self._replies.get(event["req"])
            if future is not None:
                future.set_result(event["value"])
        elif event["type"] == "ready":
            self.port = int(event["port"])
            self._ready.set()
        else:
            self._on_event(event)
