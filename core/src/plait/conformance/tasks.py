"""Module-level task functions the executor kit submits (importable by workers in
other processes and on other hosts)."""

from __future__ import annotations

import os
import time


def add(a: int, b: int) -> int:
    """Return ``a + b``."""
    return a + b


def echo(value: object) -> object:
    """Return ``value`` unchanged."""
    return value


def size_of(payload: bytes) -> int:
    """Return ``len(payload)``."""
    return len(payload)


def make_bytes(size: int) -> bytes:
    """Return ``size`` bytes."""
    return b"\x5a" * size


def raise_value_error(message: str) -> None:
    """Raise ``ValueError(message)``."""
    raise ValueError(message)


def wait_for_file(path: str, value: object, timeout: float = 60.0) -> object:
    """Block until ``path`` exists (a cross-process gate), then return ``value``."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate file {path} never appeared")
        time.sleep(0.01)
    return value
