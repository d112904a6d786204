"""One failure as one line of JSON: every field JSON-safe (ERR-002) and the whole line
bounded (ERR-008)."""

from __future__ import annotations

import itertools
import json
import math
import reprlib
import traceback
from collections.abc import Mapping
from typing import Any

import attrs

from plait.errors import DependencyError, PlaitError
from plait.interfaces import ErrorContext

LINE_LIMIT = 64 * 1024
"""Bytes one line may take, its newline included (ERR-008)."""

DEFAULT_MAX_TRACEBACK_CHARS = 32 * 1024
"""Characters of the formatted traceback kept by default."""

MAX_CAUSES = 32
"""Causes listed in ``cause_chain`` at most (a cyclic chain ends where it repeats)."""

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = _REPR.maxother = 200


@attrs.frozen
class Limits:
    """How much of each part of a record is kept (characters, or entries)."""

    message: int = 8192
    """The error's message."""
    text: int = 2048
    """The hint, a dependency's root cause, each cause's message."""
    name: int = 512
    """Task name, executor label, type names, code, title, docs link, chain labels."""
    value: int = 512
    """Each string (or ``repr`` of a non-JSON value) in ``details``, and each key."""
    traceback: int = DEFAULT_MAX_TRACEBACK_CHARS
    """The formatted traceback (start and end kept)."""
    items: int = 32
    """Entries of each list or mapping in ``details``, labels in ``chain``."""
    depth: int = 3
    """Nesting of ``details`` rendered as JSON; deeper values become a short ``repr``."""

    def halved(self) -> Limits:
        """Every limit halved (at least 1)."""
        return Limits(*(max(1, n // 2) for n in attrs.astuple(self)))


def safe_text(value: object) -> str:
    """``str(value)``, else ``repr(value)``, else a placeholder: never raises."""
    try:
        return str(value)
    except Exception:
        return safe_repr(value)


def safe_repr(value: object) -> str:
    """``repr(value)``, else a placeholder naming the type: never raises."""
    try:
        return repr(value)
    except Exception:
        return f"<{type_name(type(value))} object: str() and repr() failed>"


def type_name(cls: type) -> str:
    """``module.QualName`` of a class (``builtins.ValueError``)."""
    try:
        return f"{cls.__module__}.{cls.__qualname__}"
    except Exception:
        return "<unknown type>"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters truncated]"


def clip_middle(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters from its middle, keeping its start and its end
    (for a traceback: the outermost cause and the innermost frames with the error)."""
    if len(text) <= limit:
        return text
    head = limit // 2
    tail = text[len(text) - (limit - head) :]
    return f"{text[:head]}\n... [{len(text) - limit} characters truncated] ...\n{tail}"


def jsonable(value: object, limits: Limits, depth: int = 0) -> Any:
    """``value`` as JSON data: JSON scalars as they are (non-finite floats and integers
    beyond 64 bits as text), mappings, lists, tuples and sets as objects and arrays up to
    ``limits.items`` entries and ``limits.depth`` levels, anything else as its ``repr``;
    every string clipped to ``limits.value``."""
    try:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            return int(value) if -(2**63) <= value < 2**63 else clip(safe_repr(value), limits.value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else repr(float(value))
        if isinstance(value, str):
            return clip(str.__str__(value), limits.value)
        if depth >= limits.depth:
            return clip(_REPR.repr(value), limits.value)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in itertools.islice(value.items(), limits.items):
                text = key if isinstance(key, str) else safe_repr(key)
                out[clip(text, limits.value)] = jsonable(item, limits, depth + 1)
            if len(value) > limits.items:
                out["..."] = f"{len(value) - limits.items} more entries truncated"
            return out
        if isinstance(value, (list, tuple, set, frozenset)):
            items = [
                jsonable(item, limits, depth + 1) for item in itertools.islice(value, limits.items)
            ]
            if len(value) > limits.items:
                items.append(f"... {len(value) - limits.items} more items truncated")
            return items
    except Exception:  # a mapping or sequence that fails to iterate: say what it is
        pass
    return clip(safe_repr(value), limits.value)


def _attribute(obj: object, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def _next_cause(error: BaseException) -> BaseException | None:
    """What Python prints as this error's cause: ``__cause__``, else ``__context__``
    unless suppressed (``raise ... from None``)."""
    cause = _attribute(error, "__cause__")
    if isinstance(cause, BaseException):
        return cause
    if _attribute(error, "__suppress_context__"):
        return None
    context = _attribute(error, "__context__")
    return context if isinstance(context, BaseException) else None


def causes(error: BaseException) -> list[BaseException]:
    """The chain of causes of ``error``, nearest first, ending where it repeats."""
    seen = {id(error)}
    chain: list[BaseException] = []
    cause = _next_cause(error)
    while cause is not None and id(cause) not in seen and len(chain) < MAX_CAUSES:
        seen.add(id(cause))
        chain.append(cause)
        cause = _next_cause(cause)
    return chain


def message_of(error: BaseException) -> str:
    """The message: a :class:`PlaitError`'s own ``message`` (without the code, hint and
    docs link its ``str()`` adds), else ``str(error)``."""
    if isinstance(error, PlaitError):
        message = _attribute(error, "message")
        if isinstance(message, str):
            return message
    return safe_text(error)


def format_traceback(error: BaseException) -> str:
    """The traceback as Python prints it, chained causes (such as a remote traceback
    attached as ``__cause__``) included; just the error's line if that fails."""
    try:
        return "".join(traceback.format_exception(type(error), error, error.__traceback__))
    except Exception:
        try:
            return "".join(traceback.format_exception_only(type(error), error))
        except Exception:
            return ""


@attrs.frozen
class Failure:
    """The texts of one error, read once and safely (``str()`` and ``repr()`` may raise,
    attributes may be missing), before they are clipped to fit a line."""

    type: str
    message: str
    causes: tuple[tuple[str, str], ...]
    traceback: str | None
    plait: dict[str, Any] | None
    """For a :class:`PlaitError`: code, title, hint, docs, details (and chain and
    root_cause for a :class:`DependencyError`)."""

    @classmethod
    def of(cls, error: BaseException, *, with_traceback: bool = True) -> Failure:
        """Read ``error``; ``with_traceback=False`` leaves the traceback out."""
        return cls(
            type=type_name(type(error)),
            message=message_of(error),
            causes=tuple((type_name(type(c)), message_of(c)) for c in causes(error)),
            traceback=format_traceback(error) if with_traceback else None,
            plait=_plait_fields(error) if isinstance(error, PlaitError) else None,
        )

    def record(self, context: ErrorContext, limits: Limits, time: str) -> dict[str, Any]:
        """The JSON object of one line, each part clipped to ``limits``."""
        record: dict[str, Any] = {
            "time": time,
            "task_id": jsonable(context.task_id, limits),
            "task_name": clip(safe_text(context.task_name), limits.name),
            "executor": clip(safe_text(context.executor), limits.name),
            "attempts": jsonable(context.attempts, limits),
            "type": clip(self.type, limits.name),
            "message": clip(self.message, limits.message),
        }
        if self.plait is not None:
            fields = self.plait
            record["code"] = clip(fields["code"], limits.name)
            record["title"] = clip(fields["title"], limits.name)
            record["hint"] = clip(fields["hint"], limits.text)
            record["docs"] = clip(fields["docs"], limits.name)
            record["details"] = jsonable(fields["details"], limits)
            if "chain" in fields:
                record["chain"] = [clip(label, limits.name) for label in fields["chain"]]
                record["root_cause"] = clip(fields["root_cause"], limits.text)
        record["cause_chain"] = [
            {"type": clip(name, limits.name), "message": clip(message, limits.text)}
            for name, message in self.causes
        ]
        if self.traceback is not None:
            record["traceback"] = clip_middle(self.traceback, limits.traceback)
        return record


def _plait_fields(error: PlaitError) -> dict[str, Any]:
    hint = _attribute(error, "hint")
    details = _attribute(error, "details")
    fields: dict[str, Any] = {
        "code": safe_text(_attribute(error, "code")),
        "title": safe_text(_attribute(error, "title")),
        "hint": safe_text(hint if hint is not None else _attribute(error, "default_hint")),
        "docs": safe_text(_attribute(error, "docs_url")),
        "details": details if isinstance(details, Mapping) else {},
    }
    if isinstance(error, DependencyError):
        chain = _attribute(error, "chain")
        fields["chain"] = [safe_text(label) for label in chain] if chain else []
        fields["root_cause"] = safe_text(_attribute(error, "root_cause") or "")
    return fields


def render_line(
    error: BaseException,
    context: ErrorContext,
    time: str,
    max_traceback_chars: int = DEFAULT_MAX_TRACEBACK_CHARS,
) -> str:
    """The JSON text (ASCII, no newline) of one report, under :data:`LINE_LIMIT` bytes:
    when the default limits give a longer line (escaped characters, large details),
    every limit is halved until it fits."""
    failure = Failure.of(error, with_traceback=max_traceback_chars > 0)
    limits = Limits(traceback=max(1, max_traceback_chars))
    line = ""
    for _ in range(24):  # from 32 Ki to 1 character per part: surely small enough
        line = json.dumps(failure.record(context, limits, time))
        if len(line) < LINE_LIMIT:
            break
        limits = limits.halved()
    return line
