"""plait-dill against the serializer conformance kit."""

from __future__ import annotations

from plait.conformance.serializer import SerializerConformance
from plait_dill import DillSerializer


class TestDillSerializer(SerializerConformance):
    component_class = DillSerializer
