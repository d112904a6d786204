"""The run-time maturity gate: :func:`check_component_allowed`, called when a
configuration builds or receives a component, refuses ``development`` components unless
enabled by name and warns about immature ones."""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from plait.errors import DevelopmentComponentError, PlaitMaturityWarning
from plait.interfaces.component import Component
from plait.plugins import get_plugin_system
from plait.registry import KIND_BASES

ENABLE_ENV = "PLAIT_ENABLE_DEVELOPMENT"
DOCS_URL = "https://plait.readthedocs.io/en/latest/components.html"

_warned: set[str] = set()
_warned_lock = threading.Lock()


def enabled_development(extra: Iterable[str] = ()) -> set[str]:
    """Names of development components enabled: ``extra`` plus ``PLAIT_ENABLE_DEVELOPMENT``."""
    raw = os.environ.get(ENABLE_ENV, "")
    return {n.strip() for n in raw.split(",") if n.strip()} | set(extra)


def reset_maturity_warnings() -> None:
    """Forget which components have warned (so the next use warns again; for tests)."""
    with _warned_lock:
        _warned.clear()


def _kind_of(cls: type[Any]) -> str | None:
    for kind, base in KIND_BASES.items():
        if issubclass(cls, base):
            return kind
    return None


def _built_in(cls: type[Any]) -> bool:
    """True for a component of the core distribution itself (module ``plait`` or
    ``plait.*``), as opposed to one a plugin distribution ships."""
    module = cls.__module__
    return module == "plait" or module.startswith("plait.")


def check_component_allowed(
    component: object,
    *,
    kind: str | None = None,
    name: str | None = None,
    enabled: Iterable[str] = (),
    warn: bool = True,
) -> None:
    """Apply the maturity gate to a component class or instance about to be used.

    ``development``: raise :class:`~plait.errors.DevelopmentComponentError` unless
    ``name`` is in ``enabled`` or ``PLAIT_ENABLE_DEVELOPMENT``. ``alpha``, ``deprecated``,
    ``unmaintained``: warn once per process with
    :class:`~plait.errors.PlaitMaturityWarning`, only about what the user can act on: an
    ``alpha`` component shipped with plait itself (a built-in, its class in ``plait.*``)
    does not warn, and ``warn=False`` (for a component plait picked, not the user: the
    default executor) skips the warning; a later explicit use still warns once. Without
    ``name``, the name the class is registered under is used; a class no plugin registers
    (your own) is not gated.
    """
    cls = component if isinstance(component, type) else type(component)
    if not issubclass(cls, Component):
        return
    kind = kind or _kind_of(cls)
    if kind is None:
        return
    if name is None:
        name = get_plugin_system().registry(kind).name_of(cls)
        if name is None:
            return
    level = cls.maturity
    qual = f"{cls.__module__}.{cls.__qualname__}"
    if level == "development":
        if name not in enabled_development(enabled):
            raise DevelopmentComponentError(
                f"the {kind} {name!r} ({qual}) is at maturity level 'development': it has "
                "not passed the conformance kit and is refused unless enabled by name",
                hint=f"enable it: Config(enable_development=[{name!r}]) or "
                f"{ENABLE_ENV}={name}; or use a component at alpha level or above "
                f"({DOCS_URL})",
                component=name,
                kind=kind,
            )
        return
    if level not in ("alpha", "deprecated", "unmaintained") or not warn:
        return
    if level == "alpha" and _built_in(cls):
        return
    with _warned_lock:
        if name in _warned:
            return
        _warned.add(name)
    why = {
        "alpha": "it passes the conformance kit's core tier, but its options and behaviour "
        "may still change",
        "deprecated": "it will be removed; move to its replacement",
        "unmaintained": "nobody maintains it; fixes are unlikely",
    }[level]
    warnings.warn(
        f"the {kind} {name!r} ({qual}) is at maturity level {level!r}: {why} "
        f"(see {DOCS_URL}; silence with warnings.filterwarnings('ignore', "
        "category=plait.errors.PlaitMaturityWarning))",
        PlaitMaturityWarning,
        stacklevel=_user_stacklevel(),
    )


# the plait package directory (this file is plait/maturity/gate.py): frames in it are plait's
_PLAIT_DIR = str(Path(__file__).resolve().parent.parent)


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside plait (and
    outside attrs-generated ``__init__`` code)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith(_PLAIT_DIR) or name.startswith("<attrs generated")):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return 1
