"""The components the core ships, registered through the same hooks as any plugin."""

from __future__ import annotations

from plait.builtins.console_reporter import ConsoleErrorReporter
from plait.builtins.local_files import LocalFileStager
from plait.builtins.pickle_serializer import PickleSerializer
from plait.plugins import hookimpl
from plait.registry import Registry


@hookimpl
def plait_register_serializers(registry: Registry) -> None:
    registry.add("pickle", PickleSerializer)


@hookimpl
def plait_register_stagers(registry: Registry) -> None:
    registry.add("local-file", LocalFileStager)


@hookimpl
def plait_register_error_reporters(registry: Registry) -> None:
    registry.add("console", ConsoleErrorReporter)
