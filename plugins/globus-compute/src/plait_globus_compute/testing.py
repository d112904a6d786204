"""An offline stand-in for the Globus Compute web service, around the vendor's own code
(needs the ``test`` extra: ``pip install plait-globus-compute[test]``).

What is real: the SDK's ``Client`` and ``Executor`` (batching, rate limiting, function
registration, task submission over ``globus_sdk``'s HTTP client, result matching and
deserialization in its result watcher), the SDK's serializer, and the
``globus-compute-endpoint`` package's engines, which run every task in an endpoint
process of its own (``execute_task``: deserialization, the result size limit, error
results). What is replaced, and only that:

* the web service's HTTP API (:class:`FakeComputeService`, answering through
  ``responses``): it stores registered functions, turns each submitted task into the
  ``Task`` message an endpoint receives (function code and arguments, as the service
  does) and forwards it to the endpoint process, with the batch's resource
  specification; it answers endpoint status, knows one endpoint and refuses tasks over
  its payload limit with ``413 TASK_PAYLOAD_TOO_LARGE``;
* the AMQP result queue (:class:`LocalResultWatcher`, a subclass of the SDK's
  ``_ResultWatcher`` whose thread takes the endpoint's ``Result`` messages from a
  local queue instead of a broker, and hands them to the vendor's own message and
  matching code).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import os
import queue
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import globus_sdk
import pika  # type: ignore[import-untyped]
import responses
from globus_compute_common import messagepack
from globus_compute_common.messagepack.message_types import Task
from globus_compute_sdk import Client
from globus_compute_sdk.sdk.executor import _ResultWatcher

SERVICE = "https://compute.api.globus.org"
PAYLOAD_LIMIT = 10 * 1024 * 1024
"""What the stand-in service accepts per task (the real one documents 10 MB)."""

_CHECK = object()


# --- the endpoint process -------------------------------------------------------------


def _engine(kind: str, options: dict[str, Any]) -> Any:
    from globus_compute_endpoint import engines  # type: ignore[import-untyped]

    if kind in ("GlobusComputeEngine", "GlobusMPIEngine"):
        from parsl.launchers import SimpleLauncher, SingleNodeLauncher
        from parsl.providers import LocalProvider

        launcher = SimpleLauncher() if kind == "GlobusMPIEngine" else SingleNodeLauncher()
        provider = LocalProvider(  # type: ignore[no-untyped-call]
            init_blocks=1, min_blocks=0, max_blocks=1, launcher=launcher
        )
        options = {"provider": provider, "address": "127.0.0.1", **options}
    return getattr(engines, kind)(**options)


def serve_endpoint(
    conn: Any,
    kind: str,
    options: dict[str, Any],
    endpoint_id: str,
    run_dir: str,
    env: dict[str, str],
) -> None:
    """The endpoint process: run each task message on a vendor engine, send back its
    packed ``Result``."""
    from globus_compute_endpoint.engines import GCFuture  # type: ignore[import-untyped]

    os.environ.update(env)
    # the HTEX-based engines start `globus-compute-endpoint` and `mpiexec` from PATH
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    os.chdir(run_dir)
    engine = _engine(kind, options)
    engine.start(endpoint_id=uuid.UUID(endpoint_id), run_dir=run_dir)
    lock = threading.Lock()

    def deliver(future: Any) -> None:
        with lock:
            conn.send(("result", str(future.gc_task_id), future.result()))

    conn.send(("ready", os.getpid()))
    while True:
        message = conn.recv()
        if message[0] == "stop":
            break
        _, task_id, packed, spec = message
        future = GCFuture(task_id)
        future.add_done_callback(deliver)
        engine.submit(future, packed, resource_specification=spec or {})
    try:
        engine.shutdown(block=False)
    except Exception:  # the process ends anyway
        traceback.print_exc()
    os._exit(0)  # engine threads may still be blocked on tasks


class EndpointProcess:
    """A vendor engine in a process of its own (``spawn``: a fresh interpreter, as on a
    real endpoint), fed task messages and answering with result messages."""

    def __init__(
        self,
        kind: str,
        run_dir: Path,
        on_result: Callable[[str, bytes], None],
        options: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.endpoint_id = str(uuid.uuid4())
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        run_dir.mkdir(parents=True, exist_ok=True)
        self.process = context.Process(
            target=serve_endpoint,
            args=(child, kind, options or {}, self.endpoint_id, str(run_dir), env or {}),
            name=f"endpoint-{kind}",
            daemon=True,
        )
        self.process.start()
        child.close()
        if not self._conn.poll(120):
            raise RuntimeError(f"the {kind} endpoint process did not start")
        self.pid = self._conn.recv()[1]
        self._send_lock = threading.Lock()
        self._on_result = on_result
        self._receiver = threading.Thread(
            target=self._receive, name=f"endpoint-{kind}-results", daemon=True
        )
        self._receiver.start()

    def _receive(self) -> None:
        while True:
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                return
            if message[0] == "result":
                self._on_result(message[1], message[2])

    def send(self, task_id: str, packed: bytes, spec: dict[str, Any] | None) -> None:
        """Give the engine one task message."""
        with self._send_lock:
            self._conn.send(("task", task_id, packed, spec))

    def stop(self) -> None:
        """End the endpoint process."""
        with self._send_lock, contextlib.suppress(OSError):
            self._conn.send(("stop",))
        self.process.join(15)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self._conn.close()


# --- the web service --------------------------------------------------------------------


def _reply(status: int, body: Any) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json"}, json.dumps(body)


class FakeComputeService:
    """The Globus Compute web service's API as the SDK uses it, for the endpoints added
    to it."""

    def __init__(self) -> None:
        self.endpoints: dict[str, EndpointProcess] = {}
        self.statuses: dict[str, str] = {}
        self.payload_limit = PAYLOAD_LIMIT
        self.functions: dict[str, str] = {}
        self.submissions: list[dict[str, Any]] = []
        self._task_groups: dict[str, str] = {}
        self._held: list[tuple[str, str, bytes, dict[str, Any] | None]] = []
        self._lock = threading.Lock()
        self._inboxes: dict[str, queue.SimpleQueue[Any]] = {}
        self._undelivered: dict[str, list[bytes]] = {}
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", r"/v2/version", self._version),
            ("GET", r"/v2/endpoints/([^/]+)/status", self._endpoint_status),
            ("POST", r"/v3/functions", self._register_function),
            ("POST", r"/v3/endpoints/([^/]+)/submit", self._submit),
        ]
        for method, path, handler in routes:
            self.mock.add_callback(method, re.compile(re.escape(SERVICE) + path), handler)
        # other hosts are not this service's business: let their requests through
        self.mock.add_passthru(re.compile(rf"^(?!{re.escape(SERVICE)}/)"))

    def add(self, endpoint: EndpointProcess) -> str:
        """Serve ``endpoint`` (online); return its id."""
        with self._lock:
            self.endpoints[endpoint.endpoint_id] = endpoint
            self.statuses[endpoint.endpoint_id] = "online"
        return endpoint.endpoint_id

    def remove(self, endpoint_id: str) -> None:
        with self._lock:
            self.endpoints.pop(endpoint_id, None)

    def client(self) -> Client:
        """A real SDK client, authorized with nothing, talking to this service."""
        return Client(authorizer=globus_sdk.NullAuthorizer())

    def __enter__(self) -> FakeComputeService:
        self.mock.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.mock.stop()
        self.mock.reset()

    # --- endpoint state, for the tests ---

    def set_status(self, endpoint_id: str, status: str) -> None:
        """Mark an endpoint ``online`` (forwarding the tasks held for it) or not."""
        with self._lock:
            self.statuses[endpoint_id] = status
            held = [h for h in self._held if h[0] == endpoint_id and status == "online"]
            self._held = [h for h in self._held if h not in held]
        for _, task_id, packed, spec in held:
            self.endpoints[endpoint_id].send(task_id, packed, spec)

    def held(self, endpoint_id: str) -> int:
        """How many tasks wait at the service for ``endpoint_id`` to come online."""
        with self._lock:
            return sum(1 for h in self._held if h[0] == endpoint_id)

    # --- routes ---

    def _version(self, request: Any) -> tuple[int, dict[str, str], str]:
        return _reply(200, {"api": "1.0.0", "min_sdk_version": "1.0.0", "min_ep_version": "1.0.0"})

    def _unknown(self, endpoint_id: str) -> tuple[int, dict[str, str], str] | None:
        if endpoint_id in self.endpoints:
            return None
        return _reply(404, {"code": "ENDPOINT_NOT_FOUND", "message": f"no endpoint {endpoint_id}"})

    def _endpoint_status(self, request: Any) -> tuple[int, dict[str, str], str]:
        endpoint_id = request.url.rstrip("/").split("/")[-2]
        status = self.statuses.get(endpoint_id)
        return self._unknown(endpoint_id) or _reply(200, {"status": status, "details": {}})

    def _register_function(self, request: Any) -> tuple[int, dict[str, str], str]:
        data = json.loads(request.body)
        function_id = str(uuid.uuid4())
        self.functions[function_id] = data["function_code"]
        return _reply(200, {"function_uuid": function_id})

    def _submit(self, request: Any) -> tuple[int, dict[str, str], str]:
        endpoint_id = request.url.rstrip("/").split("/")[-2]
        refused = self._unknown(endpoint_id)
        if refused is not None:
            return refused
        data = json.loads(request.body)
        for payloads in data["tasks"].values():
            for payload in payloads:
                if len(payload) > self.payload_limit:
                    return _reply(413, {
                        "code": "TASK_PAYLOAD_TOO_LARGE",
                        "message": f"task payload of {len(payload)} bytes exceeds "
                        f"{self.payload_limit}",
                    })  # fmt: skip
        group = data.get("task_group_id") or str(uuid.uuid4())
        spec = data.get("resource_specification")
        self.submissions.append({
            "endpoint": endpoint_id,
            "resource_specification": spec,
            "user_endpoint_config": data.get("user_endpoint_config"),
            "tasks": sum(len(p) for p in data["tasks"].values()),
        })  # fmt: skip
        ids: dict[str, list[str]] = {}
        for function_id, payloads in data["tasks"].items():
            code = self.functions[function_id]
            for payload in payloads:
                task_id = str(uuid.uuid4())
                ids.setdefault(function_id, []).append(task_id)
                packed = messagepack.pack(
                    Task(task_id=uuid.UUID(task_id), task_buffer=code + payload)
                )
                with self._lock:
                    self._task_groups[task_id] = group
                    if self.statuses[endpoint_id] != "online":
                        self._held.append((endpoint_id, task_id, packed, spec))
                        continue
                self.endpoints[endpoint_id].send(task_id, packed, spec)
        return _reply(200, {
            "request_id": str(uuid.uuid4()),
            "task_group_id": group,
            "endpoint_id": endpoint_id,
            "tasks": ids,
        })  # fmt: skip

    # --- result queues ---

    def result(self, task_id: str, packed: bytes) -> None:
        """A result from the endpoint: into its task group's queue."""
        with self._lock:
            group = self._task_groups[task_id]
            inbox = self._inboxes.get(group)
            if inbox is None:
                self._undelivered.setdefault(group, []).append(packed)
                return
        inbox.put(packed)

    def attach(self, group: str, inbox: queue.SimpleQueue[Any]) -> None:
        """A consumer for a task group's queue (results waiting there go to it)."""
        with self._lock:
            self._inboxes[group] = inbox
            waiting = self._undelivered.pop(group, [])
        for packed in waiting:
            inbox.put(packed)

    def detach(self, group: str, inbox: queue.SimpleQueue[Any]) -> None:
        with self._lock:
            if self._inboxes.get(group) is inbox:
                del self._inboxes[group]


# --- the result queue consumer ---------------------------------------------------------------


class _Channel:
    def basic_ack(self, *args: Any, **kwargs: Any) -> None:
        pass

    def basic_nack(self, *args: Any, **kwargs: Any) -> None:
        pass


class _Delivery:
    def __init__(self, tag: int) -> None:
        self.delivery_tag = tag


class LocalResultWatcher(_ResultWatcher):
    """The SDK's result watcher with its AMQP connection replaced by a local queue of
    the stand-in service; messages go through the vendor's ``_on_message`` and
    ``_match_results_to_futures``."""

    service: ClassVar[FakeComputeService | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopping = False
        super().__init__(*args, **kwargs)
        self._tags = itertools.count(1)

    @property
    def _time_to_stop(self) -> bool:
        return self._stopping

    @_time_to_stop.setter
    def _time_to_stop(self, value: bool) -> None:
        self._stopping = value
        if value:
            self._inbox.put(None)  # wake the thread

    def watch_for_task_results(self, executor: Any, futures: list[Any]) -> int:
        count: int = super().watch_for_task_results(executor, futures)
        self._inbox.put(_CHECK)
        return count

    def run(self) -> None:
        self._thread_id = threading.get_ident()
        service = type(self).service
        assert service is not None
        group = str(self.task_group_id)
        service.attach(group, self._inbox)
        channel = _Channel()
        try:
            while not self._stopping:
                item = self._inbox.get()
                if isinstance(item, bytes):
                    props = pika.BasicProperties(headers={}, timestamp=int(time.time()))
                    self._on_message(channel, _Delivery(next(self._tags)), props, item)
                    self._to_ack.clear()
                if self._time_to_check_results.is_set():
                    self._time_to_check_results.clear()
                    self._match_results_to_futures()  # type: ignore[no-untyped-call]
        finally:
            service.detach(group, self._inbox)
