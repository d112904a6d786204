"""The ProxyStore serializer: objects over a size threshold travel as proxies.

An object whose pickle is larger than ``threshold`` bytes is put into a `ProxyStore
<https://docs.proxystore.dev>`_ store and the body carries only a proxy of it: the
store's key and configuration. Where the body is decoded, :meth:`deserialize` returns a
``proxystore.proxy.Proxy`` that fetches the object from the store the first time it
is used. Smaller objects travel inline as a plain pickle.
"""

from __future__ import annotations

import getpass
import hashlib
import importlib
import inspect
import json
import logging
import os
import pickle
import stat
import tempfile
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
from proxystore.proxy import Proxy
from proxystore.store import Store, get_or_create_store
from proxystore.store.config import ConnectorConfig, StoreConfig
from proxystore.store.factory import StoreFactory

from plait.builtins.pickle_serializer import dumps_importable
from plait.errors import ConfigError, closest
from plait.interfaces import Serializer
from plait.validators import AttrsField, int_at_least

logger = logging.getLogger(__name__)

CONNECTORS: dict[str, str] = {
    "file": "proxystore.connectors.file.FileConnector",
    "local": "proxystore.connectors.local.LocalConnector",
}
"""The connectors named by a short name; any other is given by its dotted class path."""

PROXYSTORE_CONNECTORS: dict[str, str] = {
    "endpoint": "proxystore.connectors.endpoint.EndpointConnector",
    "globus": "proxystore.connectors.globus.GlobusConnector",
    "multi": "proxystore.connectors.multi.MultiConnector",
    "redis": "proxystore.connectors.redis.RedisConnector",
}
"""ProxyStore's other built-in connectors, for the hint when one is named by short name."""

INLINE = b"v"
"""First byte of a body that holds the object's pickle."""

PROXY = b"p"
"""First byte of a body that holds a proxy: the pickle of ``(StoreFactory, type)``."""


def default_store_dir() -> str:
    """``<temp dir>/plait-proxystore-<user>``: where the ``file`` connector stores objects
    when ``store_dir`` is not set (created with mode 0700 on first use)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return os.path.join(tempfile.gettempdir(), f"plait-proxystore-{user}")


def _private_dir(path: str) -> None:
    """Create ``path`` with mode 0700, or check that it is a directory only this user
    can write: objects in it are unpickled, so another user's files must not be there."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if not hasattr(os, "getuid"):
        return
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise PermissionError(
            f"the default ProxyStore directory {path} is not a directory of this user that "
            f"only this user can write (mode {stat.filemode(info.st_mode)}, owner uid "
            f"{info.st_uid}); set store_dir to a private directory"
        )


def _as_is(data: Any) -> Any:
    """The store's serializer: the body is pickled already."""
    return data


def _string(*, optional: bool = False) -> Any:
    def check(instance: Any, attribute: AttrsField, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not value.strip():
            kind = "a non-empty str" + (" or None" if optional else "")
            raise ConfigError(
                f"{type(instance).__name__}.{attribute.name}={value!r} must be {kind}",
                option=attribute.name,
            )

    return check


def _boolean(instance: Any, attribute: AttrsField, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(
            f"{type(instance).__name__}.{attribute.name}={value!r} must be true or false",
            option=attribute.name,
        )


def _options(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfigError(
            f"ProxyStoreSerializer.connector_options={value!r} must be a table (dict) with "
            "str keys",
            hint='for example connector_options = {hostname = "localhost", port = 6379}',
            option="connector_options",
        )
    return dict(value)


def connector_class(name: str) -> type[Any]:
    """The connector class ``name`` stands for: ``file``, ``local``, or a dotted class
    path such as ``proxystore.connectors.redis.RedisConnector`` (imported here).

    Raises :class:`~plait.errors.ConfigError` naming the option ``connector`` when the
    name is unknown or the class cannot be imported.
    """
    path = CONNECTORS.get(name, name)
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        known = PROXYSTORE_CONNECTORS.get(name.lower().removesuffix("connector"))
        close = closest(name, CONNECTORS)
        if known:
            hint = f'give ProxyStore\'s connector by its class path: connector = "{known}"'
        else:
            hint = (
                'use "file", "local" or a dotted class path such as '
                '"proxystore.connectors.redis.RedisConnector"'
            )
            if close:
                hint = f"did you mean {close!r}? {hint}"
        raise ConfigError(
            f"ProxyStoreSerializer.connector={name!r} is not a known connector",
            hint=hint,
            option="connector",
        )
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"ProxyStoreSerializer.connector={name!r}: cannot import {path} "
            f"({type(exc).__name__}: {exc})",
            hint="install the package that provides the connector (for ProxyStore's Redis "
            "connector: pip install redis), or fix the class path",
            option="connector",
        ) from None
    if not isinstance(found, type) or not all(
        callable(getattr(found, method, None)) for method in ("put", "get", "evict", "config")
    ):
        raise ConfigError(
            f"ProxyStoreSerializer.connector={name!r}: {path} is not a ProxyStore connector "
            "class (a class with put, get, evict and config methods)",
            option="connector",
        )
    return found


@attrs.frozen
class ProxyStoreSerializer(Serializer):
    """Pickle protocol 5; objects whose pickle is over ``threshold`` bytes go to a
    ProxyStore store and travel as proxies.

    Options:

    * ``threshold``: bytes (int >= 0, default 10 000 000). An object whose pickle is longer
      is put into the store and the body holds a proxy of it (under 1 KB); otherwise the
      body holds the pickle.
    * ``connector``: ``"file"`` (default: one file per object in ``store_dir``, for one
      host or a shared file system), ``"local"`` (this process's memory: only the
      process that made the proxy can resolve it) or the dotted class path of any
      ProxyStore connector, such as ``"proxystore.connectors.redis.RedisConnector"``.
    * ``connector_options``: keyword arguments of the connector class (for ``file``,
      any but ``store_dir``; ``clear`` is false unless given).
    * ``store_dir``: the ``file`` connector's directory (default
      ``<temp dir>/plait-proxystore-<user>``, mode 0700); created on first use.
    * ``store_name``: prefix of the ProxyStore store's name; the name ends with a digest
      of the connector configuration, so differently configured instances never share a
      store.
    * ``evict``: when true, a proxied object is deleted from the store when a proxy of it
      is first resolved (so a body can be resolved only once).

    Construction only checks the options (and imports the connector's module): the
    store is created when the first object is proxied (SER-009). A body starts with one
    byte saying what it holds, so an instance built without arguments decodes what any
    instance encoded: a proxy carries its store's configuration (SER-009). Decoding a
    proxy returns an unresolved ``proxystore.proxy.Proxy``; it knows the object's
    class, so ``isinstance`` does not fetch the object. Objects that refer to something
    defined in ``__main__`` are refused, as the ``pickle`` serializer refuses them
    (SER-005).
    """

    threshold: int = attrs.field(default=10_000_000, validator=int_at_least(0))
    connector: str = attrs.field(default="file", validator=_string())
    connector_options: dict[str, Any] = attrs.field(factory=dict, converter=_options, hash=False)
    store_dir: str | None = attrs.field(default=None, validator=_string(optional=True))
    store_name: str = attrs.field(default="plait", validator=_string())
    evict: bool = attrs.field(default=False, validator=_boolean)

    identifier: ClassVar[bytes] = b"proxystore"
    can_code: ClassVar[bool] = False
    can_data: ClassVar[bool] = True
    capabilities: ClassVar[frozenset[str]] = frozenset({"objects"})
    maturity: ClassVar[str] = "alpha"

    def __attrs_post_init__(self) -> None:
        cls = connector_class(self.connector)
        options = dict(self.connector_options)
        if self.connector == "file":
            if "store_dir" in options:
                raise ConfigError(
                    "ProxyStoreSerializer.connector_options has 'store_dir', which the "
                    "serializer's own store_dir option sets",
                    hint="move it to store_dir = ...",
                    option="connector_options",
                )
            options["store_dir"] = "."
        elif self.store_dir is not None:
            raise ConfigError(
                f"ProxyStoreSerializer.store_dir={self.store_dir!r} applies only to "
                f"connector 'file', not {self.connector!r}",
                hint="remove store_dir, or give the connector's own options in connector_options",
                option="store_dir",
            )
        try:
            inspect.signature(cls).bind(**options)
        except TypeError as exc:
            raise ConfigError(
                f"ProxyStoreSerializer.connector_options={self.connector_options!r} do "
                f"not fit {cls.__qualname__}: {exc}",
                hint=f"see the parameters of {cls.__module__}.{cls.__qualname__}",
                option="connector_options",
            ) from None

    # --- the store --------------------------------------------------------------------

    def store_config(self) -> StoreConfig:
        """The ProxyStore configuration of this instance's store (no I/O beyond finding
        the temp directory for the default ``store_dir``)."""
        path = CONNECTORS.get(self.connector, self.connector)
        options = dict(self.connector_options)
        if self.connector == "file":
            options = {
                "store_dir": os.path.abspath(self.store_dir or default_store_dir()),
                "clear": False,
                **options,
            }
        digest = hashlib.sha256(
            json.dumps([path, options], sort_keys=True, default=repr).encode()
        ).hexdigest()[:12]
        return StoreConfig(
            name=f"{self.store_name}-{digest}",
            connector=ConnectorConfig(kind=path, options=options),
            # no cache: every resolve unpickles a fresh copy, as a plain pickle would,
            # and resolved objects are not kept alive by the store
            cache_size=0,
            serializer=None,
            deserializer=None,
            metrics=False,
            populate_target=True,
            auto_register=False,
        )

    def store(self) -> Store[Any]:
        """This instance's store, created (and registered with ProxyStore under
        :meth:`store_config`'s name) when first needed; instances with the same
        configuration share it."""
        config = self.store_config()
        if self.connector == "file" and self.store_dir is None:
            _private_dir(config.connector.options["store_dir"])
        return get_or_create_store(config, register=True)

    # --- the interface ----------------------------------------------------------------

    def serialize(self, obj: Any) -> bytes:
        data = dumps_importable(obj)
        if len(data) <= self.threshold:
            return INLINE + data
        try:
            store = self.store()
            key = store.put(data, serializer=_as_is)
        except Exception as exc:
            logger.warning(
                "proxystore serializer: could not put a %d-byte %s into the store (%s: %s)",
                len(data),
                type(obj).__qualname__,
                type(exc).__name__,
                exc,
            )
            raise
        factory: StoreFactory[Any, Any] = StoreFactory(
            key, store_config=store.config(), evict=self.evict, deserializer=pickle.loads
        )
        try:
            proxy_body = pickle.dumps((factory, type(obj)), protocol=5)
        except Exception:  # a class pickled by value through a reducer: resolve to know it
            proxy_body = pickle.dumps((factory, None), protocol=5)
        return PROXY + proxy_body

    def deserialize(self, payload: bytes) -> Any:
        tag, body = payload[:1], payload[1:]
        if tag == INLINE:
            return pickle.loads(body)
        if tag == PROXY:
            loaded = pickle.loads(body)
            if not (
                type(loaded) is tuple
                and len(loaded) == 2
                and isinstance(loaded[0], StoreFactory)
                and (loaded[1] is None or isinstance(loaded[1], type))
            ):
                raise ValueError("the proxystore body does not hold a ProxyStore proxy")
            factory, cls = loaded
            # not annotated: a run-time type checker's isinstance() would resolve it
            proxy = Proxy(factory)
            if cls is not None:
                # what Proxy(cache_defaults=True) caches: isinstance() without resolving
                object.__setattr__(proxy, "__proxy_default_class__", cls)
            return proxy
        raise ValueError(
            f"not a body of the proxystore serializer (first byte {tag!r}, expected "
            f"{INLINE!r} or {PROXY!r})"
        )
