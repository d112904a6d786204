"""MsgpackSerializer: dicts, lists, str, bytes, numbers, bools and None as MessagePack.

Compact, fast, and readable from any language; it carries no code and no Python
objects, so list it before the pickle-based serializers and they take the rest.
"""

from __future__ import annotations

from typing import Any

import msgpack  # type: ignore[import-untyped]

from plait.interfaces import Serializer


def _refuse(obj: Any) -> Any:
    """Called by msgpack for a type it has no encoding for (SER-005: name the type)."""
    raise TypeError(f"MessagePack cannot carry {type(obj).__qualname__} objects")


class MsgpackSerializer(Serializer):
    """Plain data as MessagePack (``identifier = b"example-msgpack"``)."""

    identifier = b"example-msgpack"  # written in every payload's header
    can_code = False  # functions are left to a serializer with can_code
    can_data = True
    maturity = "alpha"

    def serialize(self, obj: Any) -> bytes:
        # strict_types: a tuple is refused rather than silently becoming a list
        data: bytes = msgpack.packb(obj, default=_refuse, strict_types=True)
        return data

    def deserialize(self, payload: bytes) -> Any:
        # strict_map_key=False would allow non-str keys; plain data keeps str keys
        return msgpack.unpackb(payload, raw=False)
