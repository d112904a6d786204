"""The conformance kit: one set of tests that proves any component against its
interface spec. Install with ``pip install "plait[conformance]"``.

A plugin's ``tests/test_conformance.py``::

    from plait.conformance.executor import ExecutorConformance
    from my_plugin import MyExecutor

    class TestMyExecutor(ExecutorConformance):
        component_class = MyExecutor

Run ``pytest --plait-conformance-report report.json`` for a JSON report.
"""

from plait.conformance.base import (
    KIT_VERSION,
    ConformanceBase,
    requirement,
    requirement_ids,
    requirement_tests,
)

__all__ = ["KIT_VERSION", "ConformanceBase", "requirement", "requirement_ids", "requirement_tests"]
