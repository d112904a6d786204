"""The plugin manager: loads plugins from entry points and builds the registries.

Plugins are found through the ``plait.plugins`` entry-point group. Environment
switches, read when the manager is first built:

``PLAIT_LOAD_PLUGINS=a,b``
    load only these entry points (the built-in components are always loaded);
``PLAIT_DISABLE_PLUGINS=a,b``
    never load these;
``PLAIT_TRACE_PLUGINS=1``
    log every hook call and its result to the ``plait.plugins`` logger (DEBUG).
"""

from __future__ import annotations

import logging
import os
import threading
from importlib import metadata
from typing import Any

import attrs
import pluggy

from plait import hookspecs
from plait.errors import PluginError
from plait.registry import KIND_BASES, Registry

logger = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("plait")
ENTRY_POINT_GROUP = "plait.plugins"
BUILTINS_NAME = "builtins"


@attrs.frozen
class PluginInfo:
    """One loaded plugin: its entry-point name and where it comes from."""

    name: str
    distribution: str
    version: str
    module: str


def _env_names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


class PluginSystem:
    """A pluggy manager with plait's hooks, loaded plugins and component registries."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("plait")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._registries: dict[str, Registry] = {}
        self._lock = threading.Lock()
        if os.environ.get("PLAIT_TRACE_PLUGINS", "") not in ("", "0"):
            self.pm.trace.root.setwriter(logger.debug)
            self.pm.enable_tracing()

    @property
    def hook(self) -> Any:
        """The hook relay: ``system.hook.plait_task_event(event=...)``."""
        return self.pm.hook

    def register(self, plugin: object, info: PluginInfo) -> None:
        """Register one plugin object and validate its hook implementations."""
        try:
            # register() rejects a hook whose arguments do not match its spec;
            # check_pending() rejects a hook name that is not in plait.hookspecs.
            self.pm.register(plugin, name=info.name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self.pm.get_plugin(info.name) is plugin:
                self.pm.unregister(name=info.name)
            raise PluginError(
                f"plugin {info.name!r} from {info.distribution} {info.version}: {exc}",
                hint="every hook implementation must be named after a hook in "
                "plait.hookspecs and take only that hook's arguments "
                "(see `plait plugins` and the hook reference)",
            ) from exc
        self.plugins[info.name] = info

    def load_builtins(self) -> None:
        """Register the components the core ships (always loaded)."""
        from plait import builtins

        self.register(
            builtins,
            PluginInfo(BUILTINS_NAME, "plait", metadata.version("plait"), builtins.__name__),
        )

    def load_entry_points(self) -> None:
        """Load every ``plait.plugins`` entry point the environment switches allow."""
        only = _env_names("PLAIT_LOAD_PLUGINS")
        disabled = _env_names("PLAIT_DISABLE_PLUGINS") or set()
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == BUILTINS_NAME or ep.name in disabled:
                continue
            if only is not None and ep.name not in only:
                continue
            if ep.name in self.plugins:
                continue
            dist = ep.dist
            dist_name = dist.metadata["Name"] if dist is not None else "?"
            version = dist.version if dist is not None else "?"
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} from {dist_name} {version} failed to import: "
                    f"{type(exc).__name__}: {exc}",
                    hint=f"reinstall {dist_name}, or set PLAIT_DISABLE_PLUGINS={ep.name}",
                ) from exc
            self.register(plugin, PluginInfo(ep.name, dist_name, version, ep.value))
            logger.debug("loaded plugin %s from %s %s", ep.name, dist_name, version)

    def registry(self, kind: str) -> Registry:
        """The registry of ``kind`` (``"executor"``, ``"serializer"`` ...), filled on
        first use by the historic ``plait_register_<kind>s`` hook."""
        with self._lock:
            reg = self._registries.get(kind)
            if reg is None:
                if kind not in KIND_BASES:
                    raise KeyError(kind)
                reg = Registry(kind)
                caller = getattr(self.pm.hook, f"plait_register_{kind}s")
                caller.call_historic(kwargs={"registry": reg})
                self._registries[kind] = reg
            return reg

    def implemented_hooks(self, name: str) -> list[str]:
        """Names of the hooks plugin ``name`` implements."""
        plugin = self.pm.get_plugin(name)
        callers = self.pm.get_hookcallers(plugin) or []
        return sorted(caller.name for caller in callers)


_system: PluginSystem | None = None
_system_lock = threading.Lock()


def get_plugin_system() -> PluginSystem:
    """The process-wide plugin system, loading plugins on first call."""
    global _system
    with _system_lock:
        if _system is None:
            system = PluginSystem()
            system.load_builtins()
            system.load_entry_points()
            _system = system
        return _system


def reset_plugin_system() -> None:
    """Forget loaded plugins so the next call reloads them (tests, env changes)."""
    global _system
    with _system_lock:
        _system = None


def registry(kind: str) -> Registry:
    """Shortcut for ``get_plugin_system().registry(kind)``."""
    return get_plugin_system().registry(kind)
