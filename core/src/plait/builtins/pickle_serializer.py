"""The built-in serializer for plain data: the standard library's pickle."""

from __future__ import annotations

import pickle
import pickletools
from typing import Any

from plait.interfaces import Serializer

_MAIN = b"__main__"
_STRINGS = frozenset({"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"})
_MEMO = frozenset({"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"})


def refers_to_main(data: bytes) -> bool:
    """True when the pickle ``data`` refers to a global of ``__main__`` (a function or
    class of the running script), which another process cannot import."""
    if _MAIN not in data:  # the common case costs one substring search
        return False
    strings: list[str] = []  # the last two strings pushed: STACK_GLOBAL's module, name
    for opcode, arg, _ in pickletools.genops(data):
        name = opcode.name
        if name in _STRINGS:
            strings = [*strings[-1:], str(arg)]
            continue
        main_global = name == "GLOBAL" and str(arg).startswith("__main__ ")
        main_stack_global = name == "STACK_GLOBAL" and strings[:1] == ["__main__"]
        if main_global or (main_stack_global and len(strings) == 2):
            return True
        if name not in _MEMO:
            strings = []
    return False


def dumps_importable(obj: Any) -> bytes:
    """Pickle protocol 5 of ``obj``, refusing (``PicklingError``) one that refers to
    ``__main__``: another process could not load it."""
    data = pickle.dumps(obj, protocol=5)
    if refers_to_main(data):
        raise pickle.PicklingError(
            f"{type(obj).__qualname__} object refers to something defined in __main__, "
            "which another process cannot import; serialize it with cloudpickle"
        )
    return data


class PickleSerializer(Serializer):
    """Pickle protocol 5; carries data and importable (module-level) functions.

    Objects defined in the running script (``__main__``) are refused rather than
    pickled by a reference another process could not resolve (SER-005): a serializer
    that carries code by value, such as ``cloudpickle``, takes them.
    """

    identifier = b"pickle"
    can_code = False
    can_data = True
    capabilities = frozenset({"objects"})
    maturity = "alpha"

    def serialize(self, obj: Any) -> bytes:
        return dumps_importable(obj)

    def deserialize(self, payload: bytes) -> Any:
        return pickle.loads(payload)
