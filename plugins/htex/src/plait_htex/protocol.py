"""The wire format shared by the submit side, the interchange, managers and workers.

Every message is a ZeroMQ multipart message whose first frame is one kind byte.
Task and result payloads travel as frames of their own and are never decoded on the
way: the interchange reads only a fixed-size header at the front of each. Tasks go
submit side -> interchange -> worker; results go from the worker straight to the
submit side, and the worker tells the interchange which tasks it finished.
Control data (registration, events, commands) is JSON, so no process ever unpickles
bytes that arrive from the network except a worker running a task it was given.

This module imports only the standard library: the interchange does not import plait.
"""

from __future__ import annotations

import json
import struct
from typing import Any

TASK_HEADER = struct.Struct(">QqI")
"""Front of every task frame: the task key (unsigned), its priority (lower first) and the
nodes it needs (an MPI task's ``num_nodes``; 0 for every other task)."""

KEY = struct.Struct(">Q")
"""The task key that starts both a task frame and a result frame."""

RESULT_HEADER = struct.Struct(">QB")
"""Front of every result frame: the task key and an outcome byte."""

FUNC_LENGTH = struct.Struct(">I")
"""After the task header: the length of the function's bytes, then the function; then
the length of the result-serializer spec and the spec (JSON of an app's own serializer
chain, which encodes the result; empty for the executor's); then the ``(args, kwargs)``
bytes."""

# outcome byte of a result
OK = 0
"""The body is the serialized return value."""
RAISED = 1
"""The body is a serialized :class:`plait_htex.remote.RemoteFailure`."""
LOGGED = 2
"""The body is the length of the task's app log records (``FUNC_LENGTH``), the
serialized records (:class:`plait.apps.applog.AppLogs`), then the serialized return
value: a task that logged to ``plait.app_logger()`` (one that did not is ``OK``)."""

# kinds of message (first frame)
TASKS = b"T"
"""Task frames follow (submit side -> interchange -> worker)."""
RESULTS = b"D"
"""Result frames follow (worker -> submit side, directly)."""
DONE = b"K"
"""A worker finished a batch (worker -> interchange): the keys, packed as ``>Q`` each,
then the batch's seconds as ``>d``."""
PLACED = b"P"
"""One MPI task placed on nodes (interchange -> worker): the JSON list of its hosts, then
the task frame."""
EVENT = b"E"
"""One JSON event follows (interchange -> submit side)."""
COMMAND = b"C"
"""One JSON command follows (submit side -> interchange)."""
REGISTER = b"R"
"""One JSON registration follows (manager -> interchange, and the reply)."""
READY = b"W"
"""A worker connected (worker -> interchange); JSON with its manager, rank and pid."""
HEARTBEAT = b"H"
"""Nothing follows; both directions between manager and interchange."""
LOST = b"L"
"""A worker died (manager -> interchange); JSON with its rank, pid, exit status and the
key of the task it was running (0: none)."""
DRAIN = b"N"
"""A manager's workers take no more tasks (manager -> interchange)."""
STOP = b"X"
"""Stop now (interchange -> manager)."""

DURATION = struct.Struct(">d")


def bind_in_range(sock: Any, host: str, port_range: tuple[int, int]) -> int:
    """Bind ZeroMQ socket ``sock`` on ``host`` to a free port in ``port_range``
    (``(0, 0)``: any free port); return the port."""
    low, high = port_range
    address = f"tcp://{host}"
    if low == 0:
        return int(sock.bind_to_random_port(address))
    return int(sock.bind_to_random_port(address, low, high + 1, 100))


def pack(data: Any) -> bytes:
    """JSON-encode control data."""
    return json.dumps(data, separators=(",", ":")).encode()


def unpack(frame: bytes | memoryview) -> Any:
    """Decode control data made by :func:`pack`."""
    return json.loads(bytes(frame))


def pack_keys(keys: list[int]) -> bytes:
    """Task keys as one frame (``DONE``)."""
    return struct.pack(f">{len(keys)}Q", *keys)


def unpack_keys(frame: bytes | memoryview) -> tuple[int, ...]:
    """The keys of a ``DONE`` frame."""
    return struct.unpack(f">{len(frame) // KEY.size}Q", frame)


def task_key(frame: bytes | memoryview) -> int:
    """The task key at the front of a task or result frame."""
    key: int = KEY.unpack_from(frame)[0]
    return key
