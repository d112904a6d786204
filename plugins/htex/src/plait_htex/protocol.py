"""The wire format shared by the submit side, the interchange, managers and workers.

Every message is a ZeroMQ multipart message whose first frame is one kind byte.
Task and result payloads travel as frames of their own and are never decoded on the
way: the interchange and managers read only a fixed-size header at the front of each.
Control data (registration, events, commands) is JSON, so no process ever unpickles
bytes that arrive from the network except a worker running a task it was given.

This module imports only the standard library: the interchange does not import plait.
"""

from __future__ import annotations

import json
import struct
from typing import Any

TASK_HEADER = struct.Struct(">Qq")
"""Front of every task frame: the task key (unsigned) and its priority (lower first)."""

KEY = struct.Struct(">Q")
"""The task key that starts both a task frame and a result frame."""

RESULT_HEADER = struct.Struct(">QB")
"""Front of every result frame: the task key and an outcome byte."""

FUNC_LENGTH = struct.Struct(">I")
"""After the task header: the length of the function's bytes, then the function, then
the ``(args, kwargs)`` bytes."""

# outcome byte of a result
OK = 0
"""The body is the serialized return value."""
RAISED = 1
"""The body is a serialized :class:`plait_htex.remote.RemoteFailure`."""

# kinds of message (first frame)
TASKS = b"T"
"""Task frames follow (submit side -> interchange -> manager -> worker)."""
RESULTS = b"D"
"""Result frames follow (worker -> manager -> interchange -> submit side)."""
EVENT = b"E"
"""One JSON event follows (interchange -> submit side)."""
COMMAND = b"C"
"""One JSON command follows (submit side -> interchange)."""
REGISTER = b"R"
"""One JSON registration follows (manager -> interchange, and the reply)."""
HEARTBEAT = b"H"
"""Nothing follows; both directions between manager and interchange."""
LOST = b"L"
"""One JSON report of tasks whose worker died follows (manager -> interchange)."""
CAPACITY = b"F"
"""The number of tasks a manager wants to hold follows as JSON (manager -> interchange)."""
DRAIN = b"N"
"""A manager takes no more tasks (manager -> interchange)."""
STOP = b"X"
"""Stop now (interchange -> manager)."""
READY = b"W"
"""A worker is ready (worker -> manager): one frame, this byte then its pid as text."""


def pack(data: Any) -> bytes:
    """JSON-encode control data."""
    return json.dumps(data, separators=(",", ":")).encode()


def unpack(frame: bytes | memoryview) -> Any:
    """Decode control data made by :func:`pack`."""
    return json.loads(bytes(frame))


def task_key(frame: bytes | memoryview) -> int:
    """The task key at the front of a task or result frame."""
    key: int = KEY.unpack_from(frame)[0]
    return key
