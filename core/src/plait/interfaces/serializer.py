"""The serializer interface (``interface-specs/serializer.md``), and payload framing."""

from __future__ import annotations

import abc
import re
from collections.abc import Iterable
from typing import Any, ClassVar

from plait.errors import ComponentNotFoundError
from plait.interfaces.component import Component

IDENTIFIER_RE = re.compile(rb"[A-Za-z0-9._-]{1,32}")
"""What a serializer identifier may be (SER-001): 1 to 32 ASCII letters, digits, ``._-``."""

MAX_IDENTIFIER = 32
"""The longest identifier, in bytes."""


class Serializer(Component, abc.ABC):
    """Turns objects into bytes and back (``interface-specs/serializer.md``).

    ``identifier`` is written in each payload header (:func:`frame`) so the receiving
    side picks the matching deserializer (:func:`unframe`); it is short ASCII without a
    newline (SER-001) and unique among installed serializers (SER-002). ``can_code`` /
    ``can_data`` say what it can carry (SER-003); setting ``can_code = True`` adds the
    ``code`` capability (SER-101). Instances are shared between threads (SER-008) and
    can be built without arguments on a worker (SER-009).
    """

    identifier: ClassVar[bytes]
    can_code: ClassVar[bool] = False
    can_data: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "can_code", False) is True and "code" not in cls.capabilities:
            cls.capabilities = cls.capabilities | {"code"}

    @abc.abstractmethod
    def serialize(self, obj: Any) -> bytes:
        """Encode ``obj`` as a body of ``bytes`` without the header (SER-004, SER-007).

        Raise an ``Exception`` naming the type of an object this serializer cannot
        carry, rather than return bytes that would not decode to it (SER-005).
        """

    @abc.abstractmethod
    def deserialize(self, payload: bytes) -> Any:
        """Decode a body produced by :meth:`serialize` (any instance of the class,
        SER-009); raise for bytes it did not produce (SER-006)."""


def frame(serializer: Serializer, obj: Any) -> bytes:
    """Serialize ``obj`` and prefix the body with the serializer's header:
    ``identifier + b"\\n" + body``.

    Raises what ``serializer.serialize`` raises, and ``TypeError`` when it returns
    something other than ``bytes`` (SER-007).
    """
    body = serializer.serialize(obj)
    if type(body) is not bytes:
        raise TypeError(
            f"{type(serializer).__qualname__}.serialize returned {type(body).__name__}, "
            "not bytes (SER-007)"
        )
    return serializer.identifier + b"\n" + body


def identifier_of(payload: bytes) -> bytes:
    """The serializer identifier in the header of a framed ``payload``.

    Raises :class:`~plait.errors.ComponentNotFoundError` when the payload does not start
    with a well-formed header.
    """
    end = payload.find(b"\n", 0, MAX_IDENTIFIER + 1)
    identifier = payload[:end] if end > 0 else b""
    if not IDENTIFIER_RE.fullmatch(identifier):
        raise ComponentNotFoundError(
            f"the payload does not start with a serializer header (first bytes: "
            f"{bytes(payload[: MAX_IDENTIFIER + 1])!r})",
            hint="decode only payloads made by plait.interfaces.serializer.frame()",
        )
    return bytes(identifier)


def unframe(payload: bytes, serializers: Iterable[Serializer]) -> Any:
    """Decode a payload made by :func:`frame` with the serializer named in its header.

    ``serializers`` are the candidates, for example the configured ones or one default
    instance of each installed class. A header naming none of them raises
    :class:`~plait.errors.ComponentNotFoundError` naming the identifier and the
    candidates; what the chosen ``deserialize`` raises propagates.
    """
    identifier = identifier_of(payload)
    candidates = list(serializers)
    for serializer in candidates:
        if serializer.identifier == identifier:
            return serializer.deserialize(payload[len(identifier) + 1 :])
    known = ", ".join(repr(s.identifier.decode()) for s in candidates) or "none"
    raise ComponentNotFoundError(
        f"the payload was made by serializer {identifier.decode()!r}, which is not among "
        f"the serializers available here ({known})",
        hint=(
            f"install the plugin that provides the serializer {identifier.decode()!r} "
            "where the payload is decoded, or add it to the executor's serializers"
        ),
        identifier=identifier.decode(),
    )
