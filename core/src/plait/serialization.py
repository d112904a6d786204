"""Ordered serializer lists: how executors turn tasks and results into bytes and back.

A :class:`SerializerChain` holds the serializers an executor (or one app) is configured
with, in order. Each object goes with the serializer the ``plait_select_serializer``
hook names, else with the first one that can carry it; every payload is framed with
its serializer's identifier, so the receiving side decodes it whatever its own list
is. When no serializer can carry an object the error names every serializer tried and
why it failed, the object's type and, for task arguments, the argument.

A chain is described by :meth:`SerializerChain.spec`, plain data (names and option
tables) that an executor sends to its workers so they build the same chain there;
:meth:`SerializerChain.from_spec` on a worker names the distribution to install when a
serializer is missing, instead of failing later on the first payload.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from plait.errors import ComponentNotFoundError, ConfigError, SerializationError
from plait.interfaces.serializer import MAX_IDENTIFIER, Serializer, frame, identifier_of

SerializerSpec = str | Mapping[str, Any] | Serializer
"""One entry of a ``serializers = [...]`` list: a registered name, a table with
``kind`` and options, or an instance."""

FUNCTION_CACHE = 1024
"""Function payloads a chain remembers (per function object) before it forgets them all."""


def default_serializers() -> list[str]:
    """The list plait chooses when none is configured: ``pickle`` (which refuses what
    another process could not load), then ``cloudpickle`` when installed."""
    from plait.plugins import registry

    installed = registry("serializer")
    return [name for name in ("pickle", "cloudpickle") if name in installed]


def _why(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


def distribution_of(name: str) -> str | None:
    """The distribution (and version) whose plugin registered serializer ``name``, e.g.
    ``plait-dill 0.1.0``."""
    from plait.plugins import get_plugin_system, registry

    origin = registry("serializer").origins.get(name, "")
    for info in get_plugin_system().plugins.values():
        module = info.module.split(":")[0]
        if origin == module or origin.startswith(module + "."):
            return f"{info.distribution} {info.version}"
    return None


class SerializerChain:
    """Serializers in order of preference; thread-safe."""

    def __init__(
        self,
        specs: Sequence[Any],
        owner: str = "serializers",
        *,
        check_maturity: bool = True,
    ) -> None:
        """Build the serializers of ``specs`` (each a name, a table or an instance; anything
        else is a :class:`~plait.errors.ConfigError`); ``owner`` names the list in errors.
        ``check_maturity=False`` skips the maturity gate (for a list plait chose, and on
        workers, where the submit side has checked it)."""
        from plait.plugins import get_plugin_system, registry

        if not specs:
            raise ConfigError(f"{owner} is empty", hint='list at least one, e.g. ["pickle"]')
        self.owner = owner
        self._registry = registry("serializer")
        self.names: list[str] = []
        self.serializers: list[Serializer] = []
        self._specs: list[dict[str, Any]] = []
        self._check_maturity = check_maturity
        for i, spec in enumerate(specs):
            serializer, name, data = self._build(spec, f"{owner}[{i}]")
            self.serializers.append(serializer)
            self.names.append(name)
            self._specs.append(data)
        self._by_identifier = {s.identifier: s for s in reversed(self.serializers)}
        self._by_name = dict(zip(self.names, self.serializers, strict=True))
        hook = get_plugin_system().hook.plait_select_serializer
        self._select: Callable[..., str | None] | None = hook if hook.get_hookimpls() else None
        self._functions: dict[int, tuple[Any, bytes]] = {}
        self._lock = threading.Lock()

    def _build(self, spec: Any, where: str) -> tuple[Serializer, str, dict[str, Any]]:
        if isinstance(spec, Serializer):
            from plait.config.config import component_spec

            table = component_spec("serializer", spec)
            return spec, str(table["kind"]), table
        if isinstance(spec, str):
            data: dict[str, Any] = {"kind": spec}
        elif isinstance(spec, Mapping):
            data = dict(spec)
        else:
            raise ConfigError(
                f"{where}={spec!r} is not a serializer name, table or instance",
                hint='use names or tables, e.g. ["pickle", {kind = "proxystore"}]',
                option=where,
            )
        from plait.config.config import build_component

        try:
            built = build_component("serializer", data, where, check_maturity=self._check_maturity)
        except ComponentNotFoundError as exc:
            raise ConfigError(f"{where}: {exc.message}", hint=exc.hint, option=where) from None
        assert isinstance(built, Serializer)
        return built, str(data["kind"]), data

    # --- description ---------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        """Plain data (JSON-able) that rebuilds this chain elsewhere: the serializer
        tables, and the distribution providing each, for error messages."""
        dists = {}
        for name in self.names:
            dist = distribution_of(name)
            if dist is not None:
                dists[name] = dist
        return {"serializers": self._specs, "distributions": dists}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str | None = None) -> SerializerChain:
        """Rebuild a chain from :meth:`spec` (on a worker). A serializer not installed
        here raises :class:`~plait.errors.ComponentNotFoundError` naming the
        distribution to install on this host."""
        host = where or socket.gethostname()
        dists: Mapping[str, str] = spec.get("distributions", {})
        try:
            return cls(spec["serializers"], f"serializers on {host}", check_maturity=False)
        except ConfigError as exc:
            option = str(exc.details.get("option", ""))  # "serializers on HOST[i]"
            index = option.rsplit("[", 1)[-1].rstrip("]")
            kinds = [str(s.get("kind")) for s in spec["serializers"]]
            if not index.isdigit() or int(index) >= len(kinds):
                raise
            kind = kinds[int(index)]
            raise ComponentNotFoundError(
                f"{exc.message} (host {host})",
                hint=f"install {dists.get(kind, f'the plugin providing {kind!r}')} in the "
                "Python environment that runs the workers (the submit side has it)",
                component=kind,
            ) from None

    # --- encoding --------------------------------------------------------------------------

    def dumps(self, obj: Any, what: str = "the object") -> bytes:
        """``obj`` framed by the selected serializer, or the first that carries it;
        otherwise a :class:`~plait.errors.SerializationError` naming ``what``, the type
        and every failure."""
        order = self.serializers
        if self._select is not None:
            chosen = self._select(obj=obj, candidates=list(self.names))
            if chosen is not None:
                if chosen not in self._by_name:
                    raise SerializationError(
                        f"plait_select_serializer chose {chosen!r} for {what}, which is not "
                        f"among {self.owner} {self.names}"
                    )
                order = [self._by_name[chosen]]
        tried: dict[str, str] = {}
        for serializer in order:
            try:
                return frame(serializer, obj)
            except Exception as exc:
                tried[self._name(serializer)] = _why(exc)
        listing = "; ".join(f"{name}: {why}" for name, why in tried.items())
        raise SerializationError(
            f"{what} of type {type(obj).__qualname__} could not be serialized by any of "
            f"{self.owner} ({listing})",
            tried=tried,
            type=type(obj).__qualname__,
        )

    def _name(self, serializer: Serializer) -> str:
        for name, candidate in self._by_name.items():
            if candidate is serializer:
                return name
        return type(serializer).__name__

    def dumps_function(self, func: Any) -> bytes:
        """Like :meth:`dumps` for a task's function, remembered per function object.
        When the kernel's wrapper around an app's function (its ``__wrapped__``) cannot
        be serialized, the error is the one for the app's function itself."""
        cached = self._functions.get(id(func))
        if cached is not None and cached[0] is func:
            return cached[1]
        wrapped = getattr(func, "__wrapped__", None)
        named = func if wrapped is None else wrapped
        what = f"the function {getattr(named, '__qualname__', named)!r}"
        try:
            data = self.dumps(func, what)
        except SerializationError:
            if wrapped is not None:
                self.dumps(wrapped, what)  # raises, naming the app's function and type
            raise
        with self._lock:
            if len(self._functions) >= FUNCTION_CACHE:
                self._functions.clear()
            self._functions[id(func)] = (func, data)
        return data

    def dumps_arguments(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> bytes:
        """``(args, kwargs)`` as one payload; on failure the error names the argument
        (``argument 2`` or ``argument 'name'``) that no serializer could carry."""
        try:
            return self.dumps((tuple(args), dict(kwargs)), "the task's arguments")
        except SerializationError as whole:
            named = [(f"argument {i + 1}", value) for i, value in enumerate(args)]
            named += [(f"argument {key!r}", value) for key, value in kwargs.items()]
            for label, value in named:
                try:
                    self.dumps(value, label)
                except SerializationError as culprit:
                    raise culprit from None
            raise whole from None

    # --- decoding ----------------------------------------------------------------------------

    def loads(self, data: bytes | memoryview) -> Any:
        """Decode a payload framed by any chain (it names its serializer)."""
        identifier = identifier_of(bytes(data[: MAX_IDENTIFIER + 1]))
        serializer = self._by_identifier.get(identifier)
        if serializer is None:
            serializer = self._install(identifier)
        return serializer.deserialize(bytes(data[len(identifier) + 1 :]))

    def _install(self, identifier: bytes) -> Serializer:
        """A default instance of the installed serializer with ``identifier`` (SER-009)."""
        for _, cls in self._registry.items():
            if getattr(cls, "identifier", None) == identifier:
                serializer = cls()
                assert isinstance(serializer, Serializer)
                with self._lock:
                    self._by_identifier[identifier] = serializer
                return serializer
        raise SerializationError(
            f"the payload was made by serializer {identifier.decode()!r}, which is not "
            f"installed on {socket.gethostname()}",
            hint=f"install the plugin that provides serializer {identifier.decode()!r} "
            "where this payload is decoded",
        )
