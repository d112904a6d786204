"""The cloudpickle serializer: code and data, functions carried by value."""

from __future__ import annotations

from typing import Any

import cloudpickle  # type: ignore[import-untyped]  # ships no type hints

from plait.interfaces import Serializer


class CloudpickleSerializer(Serializer):
    """cloudpickle with pickle protocol 5.

    Carries what the built-in ``pickle`` serializer carries and, by value (SER-101),
    lambdas, closures with their cell values, locally defined functions and classes,
    and those of ``__main__`` or of modules not in ``sys.modules``; other modules go by
    reference unless passed to ``cloudpickle.register_pickle_by_value``. An object it
    cannot carry (a lock, a generator) raises the error of ``cloudpickle.dumps``, which
    names its type (SER-005).
    """

    identifier = b"cloudpickle"
    can_code = True
    can_data = True
    capabilities = frozenset({"objects"})
    maturity = "alpha"

    def serialize(self, obj: Any) -> bytes:
        body: bytes = cloudpickle.dumps(obj, protocol=5)
        return body

    def deserialize(self, payload: bytes) -> Any:
        return cloudpickle.loads(payload)
