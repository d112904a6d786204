"""Memo keys: a digest of an app's identity and its (resolved) arguments."""

from __future__ import annotations

import functools
import hashlib
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

from plait.data.files import File
from plait.errors import UnhashableArgumentError

NOT_HASHED = frozenset({"walltime", "resource_specification", "parsl_resource_specification"})
"""Call options that do not change a task's result."""


@functools.singledispatch
def id_for_memo(obj: Any) -> bytes:
    """Bytes that identify ``obj`` for memoization; register more types with
    ``@plait.id_for_memo.register``."""
    try:
        return pickle.dumps(obj, protocol=4)
    except Exception as exc:
        raise UnhashableArgumentError(
            f"cannot hash a {type(obj).__module__}.{type(obj).__qualname__} for memoization: {exc}",
            type=type(obj).__qualname__,
        ) from exc


@id_for_memo.register(list)
@id_for_memo.register(tuple)
def _sequence(obj: Sequence[Any]) -> bytes:
    return type(obj).__name__.encode() + b"[" + b",".join(id_for_memo(x) for x in obj) + b"]"


@id_for_memo.register(dict)
def _mapping(obj: Mapping[Any, Any]) -> bytes:
    parts = sorted(id_for_memo(k) + b":" + id_for_memo(v) for k, v in obj.items())
    return b"{" + b",".join(parts) + b"}"


@id_for_memo.register(File)
def _file(obj: File) -> bytes:
    return b"File:" + obj.url.encode()


def memo_key(
    identity: bytes, args: Sequence[Any], kwargs: Mapping[str, Any], ignore: frozenset[str]
) -> bytes:
    """The memo key of one call; ``ignore`` names keyword arguments left out."""
    kept = {k: v for k, v in kwargs.items() if k not in ignore and k not in NOT_HASHED}
    digest = hashlib.sha256(identity)
    digest.update(id_for_memo(list(args)))
    digest.update(id_for_memo(kept))
    return digest.digest()
