"""PSI/J, imported on first use, and what it offers: executors, launchers, config classes.

``import psij`` loads the module of every executor PSI/J knows (about 0.3 s), and the
module of its ``local`` executor installs a SIGCHLD handler when it is imported from the
main thread. That handler starts PSI/J's process-reaper thread at the next exit of *any*
child process of the interpreter, whoever started it. :func:`load` imports PSI/J once and
puts the previous SIGCHLD handler back, so that the reaper runs only while a ``local``
executor needs it (it then polls every 0.1 s instead of being woken by the signal).

PSI/J has no public way to look at an executor class without instantiating it (which
starts its threads), so the executor registry is read here, in one place.
"""

from __future__ import annotations

import importlib
import inspect
import signal
import sys
import threading
import typing
from typing import TYPE_CHECKING, Any

from plait.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from psij import JobExecutor, JobExecutorConfig

_IMPORT_LOCK = threading.Lock()


def load() -> None:
    """Import PSI/J (once), keeping the process's SIGCHLD handler as it was."""
    if "psij" in sys.modules:
        return
    with _IMPORT_LOCK:
        if "psij" in sys.modules:
            return
        main = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGCHLD) if main else None
        try:
            importlib.import_module("psij")
        finally:
            if main:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL if previous is None else previous)


def _entries() -> dict[str, Any]:
    """PSI/J's executor registry: name -> versions (newest last)."""
    load()
    import psij

    return dict(getattr(psij.JobExecutor, "_executors", {}))


def executor_names() -> list[str]:
    """The names of the executors PSI/J can load here, sorted."""
    return sorted(name for name, versions in _entries().items() if versions[-1].exc is None)


def executor_class(name: str, owner: str) -> type[JobExecutor]:
    """The class of PSI/J executor ``name``; :class:`~plait.errors.ConfigError` naming
    ``owner.executor`` when PSI/J has none by that name or cannot load it."""
    load()
    import psij

    entries = _entries()
    known = executor_names()
    versions = entries.get(name.lower())
    if versions is None:
        suggestion = did_you_mean(name.lower(), known)
        raise ConfigError(
            f"{owner}.executor={name!r}: PSI/J has no executor by that name{suggestion}",
            hint=f"the PSI/J executors installed here are: {', '.join(known)}",
            option="executor",
        )
    entry = versions[-1]
    if entry.exc is not None or entry.ecls is None:
        raise ConfigError(
            f"{owner}.executor={name!r}: PSI/J knows this executor but cannot load it: "
            f"{entry.exc!r}",
            hint=f"install what it needs (its Python bindings), or use one of: {', '.join(known)}",
            option="executor",
        )
    cls = entry.ecls
    if not (isinstance(cls, type) and issubclass(cls, psij.JobExecutor)):  # pragma: no cover
        raise ConfigError(f"{owner}.executor={name!r}: {cls!r} is not a PSI/J executor")
    return cls


def config_class(cls: type[JobExecutor]) -> type[JobExecutorConfig]:
    """The configuration class executor class ``cls`` takes (the annotation of its
    ``config`` parameter, e.g. ``SlurmExecutorConfig``), else ``JobExecutorConfig``."""
    load()
    import psij

    try:
        hint = typing.get_type_hints(cls.__init__).get("config")
    except Exception:  # an annotation PSI/J's module cannot resolve: use the base class
        hint = None
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and issubclass(candidate, psij.JobExecutorConfig):
            return candidate
    return psij.JobExecutorConfig


def config_options(cls: type[JobExecutorConfig]) -> list[str]:
    """The keyword options of configuration class ``cls``, in order."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in parameters if p.kind in kinds and p.name != "self"]


def launcher_names() -> list[str]:
    """The names of PSI/J's job launchers (``single``, ``multiple``, ``srun`` ...)."""
    load()
    import psij

    return sorted(psij.Launcher.get_launcher_names())
