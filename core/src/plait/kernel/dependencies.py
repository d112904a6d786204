"""Finding futures in a call's arguments and replacing them with their results."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

_CONTAINERS = (list, tuple, dict, set, frozenset)


def find_futures(obj: Any, found: list[Future[Any]]) -> None:
    """Append every future in ``obj`` (searching lists, tuples, sets, dicts)."""
    if isinstance(obj, Future):
        found.append(obj)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            find_futures(key, found)
            find_futures(value, found)
    elif isinstance(obj, _CONTAINERS):
        for item in obj:
            find_futures(item, found)


def resolve(obj: Any) -> Any:
    """A copy of ``obj`` with every (completed) future replaced by its result."""
    if isinstance(obj, Future):
        return obj.result()
    if isinstance(obj, dict):
        return type(obj)((resolve(k), resolve(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [resolve(item) for item in obj]
    if isinstance(obj, tuple):
        items = [resolve(item) for item in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    if isinstance(obj, (set, frozenset)):
        return type(obj)(resolve(item) for item in obj)
    return obj
