"""Turning tasks and results into frames and back, with the configured serializers.

Both sides use a :class:`Codec` over the same ordered list of serializer names: each
object is encoded by the first serializer that can carry it, and the identifier in the
payload header tells the decoding side which one to use (``plait.interfaces.frame``).
Functions are encoded once per function object on the submit side and decoded once per
distinct payload on a worker.
"""

from __future__ import annotations

import socket
import traceback
from collections.abc import Sequence
from typing import Any

import attrs

from plait.errors import ConfigError, PlaitError, SerializationError
from plait.interfaces import Serializer, frame, identifier_of
from plait.plugins import registry

FUNCTION_CACHE = 1024
"""Function payloads remembered per codec before the cache is emptied."""


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


class Codec:
    """Encodes with the first serializer of ``names`` that succeeds; decodes by header."""

    def __init__(self, names: Sequence[str]) -> None:
        serializers = registry("serializer")
        self.names = list(names)
        self.serializers: list[Serializer] = []
        for name in self.names:
            try:
                cls = serializers.get(name)
            except PlaitError as exc:
                raise ConfigError(
                    f"serializer {name!r} is not installed here ({socket.gethostname()})",
                    hint=exc.hint,
                    option="serializers",
                ) from None
            serializer = cls()
            assert isinstance(serializer, Serializer)
            self.serializers.append(serializer)
        self._by_identifier = {s.identifier: s for s in self.serializers}
        self._functions: dict[int, tuple[Any, bytes]] = {}

    def dumps(self, obj: Any, what: str) -> bytes:
        """``obj`` framed by the first serializer that can carry it; otherwise a
        :class:`~plait.errors.SerializationError` naming ``what`` and every failure."""
        tried: dict[str, str] = {}
        for name, serializer in zip(self.names, self.serializers, strict=True):
            try:
                return frame(serializer, obj)
            except Exception as exc:
                tried[name] = _describe(exc)
        listing = "; ".join(f"{name}: {why}" for name, why in tried.items())
        raise SerializationError(
            f"{what} of type {type(obj).__qualname__} could not be serialized by any of "
            f"the serializers tried ({listing})",
            tried=tried,
            type=type(obj).__qualname__,
        )

    def dumps_function(self, func: Any) -> bytes:
        """Like :meth:`dumps` for a task's function, remembered per function object."""
        cached = self._functions.get(id(func))
        if cached is not None and cached[0] is func:
            return cached[1]
        data = self.dumps(func, f"the function {getattr(func, '__qualname__', func)!r}")
        if len(self._functions) >= FUNCTION_CACHE:
            self._functions.clear()
        self._functions[id(func)] = (func, data)
        return data

    def loads(self, data: bytes | memoryview) -> Any:
        """Decode a payload made by :meth:`dumps` on either side."""
        identifier = identifier_of(bytes(data[:40]))
        serializer = self._by_identifier.get(identifier)
        if serializer is None:
            serializer = self._install(identifier)
        return serializer.deserialize(bytes(data[len(identifier) + 1 :]))

    def _install(self, identifier: bytes) -> Serializer:
        for _, cls in registry("serializer").items():
            if getattr(cls, "identifier", None) == identifier:
                serializer = cls()
                assert isinstance(serializer, Serializer)
                self._by_identifier[identifier] = serializer
                return serializer
        raise SerializationError(
            f"the payload was made by serializer {identifier.decode()!r}, which is not "
            f"installed on {socket.gethostname()}",
            hint=f"install the plugin that provides serializer {identifier.decode()!r} "
            "in the Python environment of the workers",
        )


@attrs.define
class RemoteFailure:
    """What a worker sends back when a task raised: the exception if it could be
    serialized (else its type name and message), the traceback as text, and where."""

    exc: BaseException | None
    type_name: str
    message: str
    traceback: str
    where: str

    @classmethod
    def capture(cls, exc: BaseException, where: str) -> RemoteFailure:
        """Record ``exc`` (being handled) raised at ``where``."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        return cls(exc, name, str(exc), text, where)

    def without_exception(self) -> RemoteFailure:
        """The same failure with the exception object dropped (it did not serialize)."""
        return attrs.evolve(self, exc=None)


class RemoteTraceback(Exception):
    """The ``__cause__`` of a task's exception: the traceback on the worker, as text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text
