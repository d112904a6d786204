"""The components built into the core against their conformance kits."""

from __future__ import annotations

from plait.builtins import ConsoleErrorReporter, LocalFileStager, PickleSerializer
from plait.conformance.error_reporter import ErrorReporterConformance
from plait.conformance.serializer import SerializerConformance
from plait.conformance.stager import StagerConformance


class TestPickleSerializer(SerializerConformance):
    component_class = PickleSerializer


class TestLocalFileStager(StagerConformance):
    component_class = LocalFileStager


class TestConsoleErrorReporter(ErrorReporterConformance):
    component_class = ConsoleErrorReporter
