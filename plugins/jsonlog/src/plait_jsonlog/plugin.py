"""Entry point ``jsonlog``: registers the JSON Lines error reporter."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_jsonlog.reporter import JsonLogErrorReporter


@hookimpl
def plait_register_error_reporters(registry: Registry) -> None:
    registry.add("jsonlog", JsonLogErrorReporter)
