"""How the executor and its worker processes talk: length-prefixed pickles on a pipe.

Each message is an 8-byte big-endian length followed by that many bytes of pickle: a
request is ``(func, args, kwargs)``, a reply ``(ok, value, traceback_text)``.
"""

from __future__ import annotations

import importlib
import io
import pickle
import struct
import sys
import types
from typing import IO, Any

_HEADER = struct.Struct("!Q")


def send(stream: IO[bytes], payload: bytes) -> None:
    """Write one message and flush it."""
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def receive(stream: IO[bytes]) -> bytes | None:
    """Read one message; None when the other side has closed the pipe."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    return payload if len(payload) == size else None


def dumps(obj: Any) -> bytes:
    """Pickle ``obj``; functions travel by reference (module and name)."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


class _Pickler(pickle.Pickler):
    """A pickler that can send the function behind a plait app.

    ``@python_app`` replaces ``module.name`` with an :class:`plait.App` whose ``func``
    is the original function, so plain pickle cannot find the function under its own
    name. This pickler sends "``module.name``'s ``func``" instead. Functions defined in
    ``__main__`` are refused with an explanation: the worker cannot import them.
    """

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, types.FunctionType):
            return NotImplemented
        module, name = obj.__module__, obj.__qualname__
        if module == "__main__":
            raise pickle.PicklingError(
                f"function {name!r} is defined in __main__, which worker processes cannot "
                "import; move it (and its @python_app) into a module of its own"
            )
        owner = getattr(sys.modules.get(module), name, None)
        if owner is not obj and getattr(owner, "func", None) is obj:
            return _app_function, (module, name)
        return NotImplemented


def _app_function(module: str, name: str) -> Any:
    """The function wrapped by the app ``module.name`` (unpickling side)."""
    return getattr(importlib.import_module(module), name).func


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, as text.

    Set as the ``__cause__`` of the exception a future carries, so that printing
    the exception shows where the task failed.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'
