"""The built-in serializer for plain data: the standard library's pickle."""

from __future__ import annotations

import pickle
from typing import Any

from plait.interfaces import Serializer


class PickleSerializer(Serializer):
    """Pickle protocol 5; carries data and importable (module-level) functions."""

    identifier = b"pickle"
    can_code = False
    can_data = True
    capabilities = frozenset({"objects"})
    maturity = "alpha"

    def serialize(self, obj: Any) -> bytes:
        return pickle.dumps(obj, protocol=5)

    def deserialize(self, payload: bytes) -> Any:
        return pickle.loads(payload)
