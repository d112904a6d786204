"""``example-json``: plain data as a JSON document."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from plait.interfaces import Serializer

FORMAT = "example-json/1"
"""The body format; a body is ``{"format": FORMAT, "data": <encoded value>}``."""

_BYTES = "$bytes"
_FLOAT = "$float"
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class JsonSerializer(Serializer):
    """Carries plain data exactly, as a JSON document anyone can read.

    None, bool, int, float, str, bytes, and lists and dicts with str keys of these,
    nested, come back equal and of the same type (SER-004). Bytes travel as
    ``{"$bytes": "<base64>"}``, infinities and NaN as ``{"$float": "inf"}``; a dict key
    of the data that starts with ``$`` gets a second ``$`` so it cannot be mistaken for
    either. Anything else (a tuple, a set, an int key, a function) is refused with a
    TypeError naming where it is, rather than changed on the way (SER-005). A body
    without the ``example-json/1`` envelope is refused too (SER-006).
    """

    identifier = b"example-json"
    can_code = False
    can_data = True
    capabilities = frozenset()
    maturity = "alpha"

    def serialize(self, obj: Any) -> bytes:
        document = {"format": FORMAT, "data": _encode(obj, "obj")}
        return json.dumps(document, separators=(",", ":"), allow_nan=False).encode("ascii")

    def deserialize(self, payload: bytes) -> Any:
        document = json.loads(payload)  # ValueError for anything that is not JSON
        if type(document) is not dict or document.get("format") != FORMAT or len(document) != 2:
            raise ValueError(f"not an {FORMAT} body: {payload[:40]!r}")
        return _decode(document["data"])


def _encode(obj: Any, where: str) -> Any:
    """``obj`` as JSON-ready data, or a TypeError saying what cannot be carried."""
    kind = type(obj)  # exact types: a subclass (an IntEnum, an OrderedDict) would not survive
    if obj is None or kind in (bool, int, str):
        return obj
    if kind is float:
        return obj if math.isfinite(obj) else {_FLOAT: repr(obj)}
    if kind is bytes:
        return {_BYTES: base64.b64encode(obj).decode("ascii")}
    if kind is list:
        return [_encode(item, f"{where}[{i}]") for i, item in enumerate(obj)]
    if kind is dict:
        encoded = {}
        for key, value in obj.items():
            if type(key) is not str:
                raise TypeError(f"{where} has the key {key!r}; example-json keys must be str")
            encoded["$" + key if key.startswith("$") else key] = _encode(value, f"{where}[{key!r}]")
        return encoded
    raise TypeError(f"{where} is a {kind.__name__}, which example-json does not carry")


def _decode(value: Any) -> Any:
    """The inverse of :func:`_encode`; ValueError for data it never produces."""
    if type(value) is list:
        return [_decode(item) for item in value]
    if type(value) is not dict:
        return value
    if len(value) == 1 and _BYTES in value:
        try:
            return base64.b64decode(value[_BYTES], validate=True)
        except (TypeError, binascii.Error) as exc:
            raise ValueError(f"bad {_BYTES} value: {exc}") from exc
    if len(value) == 1 and _FLOAT in value:
        text = value[_FLOAT]
        if type(text) is not str or text not in _NON_FINITE:
            raise ValueError(f"bad {_FLOAT} value {text!r}")
        return _NON_FINITE[text]
    decoded = {}
    for key, item in value.items():
        if key.startswith("$"):
            if not key.startswith("$$"):
                raise ValueError(f"unexpected key {key!r} in an {FORMAT} body")
            key = key[1:]
        decoded[key] = _decode(item)
    return decoded
