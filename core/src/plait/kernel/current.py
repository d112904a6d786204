"""The process-wide current kernel: ``plait.load``, ``plait.dfk``, ``plait.clear``."""

from __future__ import annotations

import os
import threading

from plait.config.config import Config
from plait.errors import KernelAlreadyLoadedError, NoDataFlowKernelError
from plait.kernel.dfk import DataFlowKernel

_current: DataFlowKernel | None = None
_lock = threading.Lock()


def load(config: Config | str | os.PathLike[str] | None = None) -> DataFlowKernel:
    """Start a kernel for ``config`` (a Config, a TOML file path, or None for the local
    default) and make it current. Use as ``with plait.load(...):``."""
    global _current
    if isinstance(config, (str, os.PathLike)):
        config = Config.from_file(config)
    with _lock:
        if _current is not None:
            raise KernelAlreadyLoadedError(
                f"a kernel is already loaded (run dir {_current.run_dir})"
            )
        _current = DataFlowKernel(config)
        return _current


def dfk() -> DataFlowKernel:
    """The current kernel; raises when nothing is loaded."""
    kernel = _current
    if kernel is None:
        raise NoDataFlowKernelError("an app was called but no configuration is loaded")
    return kernel


def clear() -> None:
    """Clean up the current kernel, if any, and forget it."""
    kernel = _current
    if kernel is not None:
        kernel.cleanup()
    forget(kernel)


def forget(kernel: DataFlowKernel | None) -> None:
    """Stop treating ``kernel`` as current (called by its cleanup)."""
    global _current
    with _lock:
        if _current is kernel:
            _current = None


def wait_for_current_tasks() -> None:
    """Block until every task submitted to the current kernel has finished."""
    dfk().wait_for_current_tasks()
