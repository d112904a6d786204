"""Registries of component classes, one per component kind."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterator

from plait.errors import ComponentNotFoundError, PluginError
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
            close = difflib.get_close_matches(name, list(self._classes), n=1)
            known = ", ".join(sorted(self._classes)) or "none"
            hint = f"pip install plait-{name}"
            if close:
                hint = f"did you mean {close[0]!r}? otherwise: {hint}"
            raise ComponentNotFoundError(
                f"no installed plugin provides the {self.kind} {name!r} "
                f"(installed {self.kind}s: {known})",
                hint=hint,
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
