"""Registries of component classes, one per component kind."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from plait.errors import ComponentNotFoundError, PluginError, closest
from plait.interfaces import (
    Component,
    ErrorReporter,
    ExecutionProvider,
    Executor,
    Launcher,
    Serializer,
    Stager,
)

KIND_BASES: dict[str, type[Component]] = {
    "executor": Executor,
    "provider": ExecutionProvider,
    "launcher": Launcher,
    "serializer": Serializer,
    "stager": Stager,
    "error_reporter": ErrorReporter,
}


FIRST_PARTY: dict[tuple[str, str], str] = {
    ("executor", "threads"): "plait-threads",
    ("executor", "htex"): "plait-htex",
    ("executor", "globus-compute"): "plait-globus-compute",
    ("provider", "local"): "plait-local",
    ("provider", "slurm"): "plait-slurm",
    ("provider", "psij"): "plait-psij",
    ("launcher", "simple"): "plait-local",
    ("launcher", "single-node"): "plait-local",
    ("launcher", "wrapped"): "plait-local",
    ("launcher", "srun"): "plait-slurm",
    ("launcher", "srun-mpi"): "plait-slurm",
    ("launcher", "mpiexec"): "plait-mpi",
    ("launcher", "mpirun"): "plait-mpi",
    ("serializer", "pickle"): "plait",
    ("serializer", "cloudpickle"): "plait-cloudpickle",
    ("serializer", "dill"): "plait-dill",
    ("serializer", "proxystore"): "plait-proxystore",
    ("stager", "local-file"): "plait",
    ("stager", "rsync"): "plait-rsync",
    ("stager", "http"): "plait-http",
    ("stager", "globus-transfer"): "plait-globus-transfer",
    ("error_reporter", "console"): "plait",
    ("error_reporter", "jsonlog"): "plait-jsonlog",
}
"""The distribution of each first-party component (``maturity.yaml`` lists the same),
so that a missing one is named with its ``pip install`` line."""


SCHEME_PLUGINS: dict[str, str] = {
    "http": "plait-http",
    "https": "plait-http",
    "ftp": "plait-http",
    "rsync": "plait-rsync",
    "globus": "plait-globus-transfer",
}
"""The first-party distribution whose stager handles each URL scheme, named when no
installed stager accepts a file's scheme."""


def install_hint(kind: str, name: str, installed: list[str]) -> str:
    """How to get the ``kind`` component ``name``: its distribution's ``pip install``
    line, else the installed name it is closest to."""
    distribution = FIRST_PARTY.get((kind, name))
    if distribution is not None:
        return f"pip install {distribution}"
    close = closest(name, installed)
    if close:
        return f"did you mean {close!r}?"
    return (
        f"pip install the plugin that provides the {kind} {name!r} "
        "(`plait plugins` lists those installed)"
    )


class Registry:
    """Maps component names (``"threads"``) to classes for one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.base = KIND_BASES[kind]
        self._classes: dict[str, type[Component]] = {}
        self.origins: dict[str, str] = {}
        """Component name -> module that registered it (the plugin's module)."""

    def add(self, name: str, cls: type[Component]) -> None:
        """Register ``cls`` under ``name``; called from ``plait_register_*`` hooks."""
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise PluginError(
                f"{self.kind} {name!r}: {cls!r} is not a subclass of {self.base.__qualname__}",
                hint=f"derive the class from plait.interfaces.{self.base.__qualname__}",
            )
        existing = self._classes.get(name)
        if existing is not None and existing is not cls:
            raise PluginError(
                f"{self.kind} name {name!r} registered twice: by {existing.__module__} "
                f"and by {cls.__module__}",
                hint="uninstall one of the two plugins or disable one with PLAIT_DISABLE_PLUGINS",
            )
        self._classes[name] = cls
        self.origins[name] = sys._getframe(1).f_globals.get("__name__", "?")

    def get(self, name: str) -> type[Component]:
        """Return the class registered as ``name`` or explain how to get it."""
        try:
            return self._classes[name]
        except KeyError:
            known = ", ".join(sorted(self._classes)) or "none"
            raise ComponentNotFoundError(
                f"no installed plugin provides the {self.kind} {name!r} "
                f"(installed {self.kind}s: {known})",
                hint=install_hint(self.kind, name, list(self._classes)),
            ) from None

    def name_of(self, cls: type[Component]) -> str | None:
        """The name ``cls`` is registered under, if any."""
        for name, registered in self._classes.items():
            if registered is cls:
                return name
        return None

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._classes))

    def items(self) -> list[tuple[str, type[Component]]]:
        """``(name, class)`` pairs sorted by name."""
        return sorted(self._classes.items())
