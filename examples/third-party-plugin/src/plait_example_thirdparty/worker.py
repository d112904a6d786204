"""A worker process: ``python -m plait_example_thirdparty.worker``.

It reads requests from its stdin and writes replies to its stdout (see
:mod:`plait_example_thirdparty.protocol`) until stdin is closed, then exits. What a task
prints goes to stderr, so it cannot corrupt the replies.
"""

from __future__ import annotations

import os
import pickle
import signal
import traceback
from typing import Any

from plait_example_thirdparty import protocol


def run(request: bytes) -> bytes:
    """Run one pickled call; return the pickled ``(ok, value, traceback_text)``."""
    reply: tuple[bool, Any, str | None]
    try:
        func, args, kwargs = pickle.loads(request)
        reply = (True, func(*args, **kwargs), None)
    except BaseException as exc:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        reply = (False, exc, text)
    try:
        payload = protocol.dumps(reply)
        if not reply[0]:
            pickle.loads(payload)  # some exception classes pickle but do not unpickle
        return payload
    except Exception as exc:
        what = "result" if reply[0] else f"{type(reply[1]).__name__} exception"
        error = RuntimeError(f"the task's {what} cannot be sent back: {type(exc).__name__}: {exc}")
        return protocol.dumps((False, error, reply[2] or ""))


def main() -> None:
    """Serve requests until the executor closes our stdin."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the workflow to handle
    inbox = os.fdopen(os.dup(0), "rb")
    outbox = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # print() in a task now writes to stderr, not into the reply stream
    while (request := protocol.receive(inbox)) is not None:
        protocol.send(outbox, run(request))


if __name__ == "__main__":
    main()
