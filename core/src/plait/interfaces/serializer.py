"""The serializer interface (``interface-specs/serializer.md``)."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from plait.interfaces.component import Component


class Serializer(Component, abc.ABC):
    """Turns objects into bytes and back.

    ``identifier`` is written in each payload header so the receiving side picks the
    matching deserializer; ``can_code`` / ``can_data`` say what it can carry.
    """

    identifier: ClassVar[bytes]
    can_code: ClassVar[bool] = False
    can_data: ClassVar[bool] = True

    @abc.abstractmethod
    def serialize(self, obj: Any) -> bytes:
        """Encode ``obj``; raise on objects this serializer cannot carry."""

    @abc.abstractmethod
    def deserialize(self, payload: bytes) -> Any:
        """Decode bytes produced by :meth:`serialize`."""
