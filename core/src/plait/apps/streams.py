"""Where a bash app's stdout and stderr go."""

from __future__ import annotations

import os
from typing import Any, Final


class _AutoLogname:
    """Sentinel: let plait choose a file under the run directory."""

    def __repr__(self) -> str:
        return "plait.AUTO_LOGNAME"

    def __reduce__(self) -> str:
        return "AUTO_LOGNAME"


AUTO_LOGNAME: Final = _AutoLogname()
"""Pass as ``stdout=`` / ``stderr=`` to get ``runinfo/NNN/task_logs/...`` files."""


def stream_path(spec: Any) -> tuple[str, str] | None:
    """Normalise ``"path"`` or ``("path", "w")`` to ``(path, mode)``; None stays None."""
    if spec is None:
        return None
    if isinstance(spec, tuple) and len(spec) == 2:
        return os.fspath(spec[0]), str(spec[1])
    if isinstance(spec, (str, os.PathLike)):
        return os.fspath(spec), "a"
    raise TypeError(f"stdout/stderr must be a path or (path, mode), got {spec!r}")


def auto_log_path(run_dir: str, tid: int, name: str, attempt: int, stream: str) -> str:
    """The file AUTO_LOGNAME stands for, for one task attempt and stream."""
    folder = os.path.join(run_dir, "task_logs", f"{tid // 10000:04d}")
    suffix = f"_try{attempt}" if attempt else ""
    return os.path.join(folder, f"task_{tid:04d}_{name}{suffix}.{stream}")
