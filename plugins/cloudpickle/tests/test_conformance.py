"""plait-cloudpickle against the serializer conformance kit."""

from __future__ import annotations

from plait.conformance.serializer import SerializerConformance
from plait_cloudpickle import CloudpickleSerializer


class TestCloudpickleSerializer(SerializerConformance):
    component_class = CloudpickleSerializer
