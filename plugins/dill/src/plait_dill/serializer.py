"""The dill serializer: code and data, functions carried by value."""

from __future__ import annotations

import io
import pickle
import sys
from typing import Any

import dill  # type: ignore[import-untyped]  # ships no type hints

from plait.interfaces import Serializer

PROTOCOL = 5
"""The pickle protocol of every body."""

FILE_TYPES: frozenset[type] = frozenset(
    {io.FileIO, io.BufferedReader, io.BufferedWriter, io.BufferedRandom, io.TextIOWrapper}
)
"""The handles of open files, which dill would reopen by name where they are decoded."""


def _type_name(obj: Any) -> str:
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class _Pickler(dill.Pickler):  # type: ignore[misc]  # dill ships no type hints
    """dill's pickler, refusing file handles (SER-005)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) in FILE_TYPES and obj not in (sys.__stdin__, sys.__stdout__, sys.__stderr__):
            raise TypeError(
                f"cannot pickle {_type_name(obj)!r} object (open file "
                f"{getattr(obj, 'name', '?')!r}): dill would reopen the file by name where it "
                "is decoded, empty or truncated there; pass the path instead"
            )
        return NotImplemented


class DillSerializer(Serializer):
    """dill with pickle protocol 5, ``recurse=True`` and ``byref=False``.

    Carries what the built-in ``pickle`` serializer carries and, by value (SER-101),
    lambdas, closures with their cell values, locally defined functions and classes,
    and those of ``__main__`` or of modules not in ``sys.modules`` together with the
    globals they use (``recurse=True``: without it a function of ``__main__`` would
    look its globals up in the worker's ``__main__``). It also carries objects plain
    pickle refuses, such as locks and queues (each copy gets its own lock). An object
    it cannot carry (a generator, a socket, an open file) raises an exception naming
    its type (SER-005); so does an object too deeply nested, or mutually recursive
    functions carried by value, which dill cannot follow (``pickle.PicklingError``).
    The options are passed explicitly, so ``dill.settings`` changes nothing.
    """

    identifier = b"dill"
    can_code = True
    can_data = True
    capabilities = frozenset({"objects"})
    maturity = "alpha"

    def serialize(self, obj: Any) -> bytes:
        buffer = io.BytesIO()
        try:
            _Pickler(buffer, PROTOCOL, byref=False, recurse=True).dump(obj)
        except RecursionError as exc:
            raise pickle.PicklingError(
                f"cannot pickle {_type_name(obj)!r} object: maximum recursion depth "
                "exceeded (data nested too deeply, or functions carried by value that "
                "call each other, which dill cannot follow)"
            ) from exc
        return buffer.getvalue()

    def deserialize(self, payload: bytes) -> Any:
        return dill.loads(payload, ignore=False)
