"""plait-http against the stager conformance kit, on a local HTTP server."""

from __future__ import annotations

from typing import Any

import pytest

from plait_http import HttpStager
from plait_http.conformance import HttpConformance


class TestHttpStager(HttpConformance):
    """The kit as ``plait conformance http`` runs it: the default options."""

    component_class = HttpStager


class TestHttpStagerWithOptions(HttpConformance):
    """The kit with small chunks and no backoff: many reads per file, from 8 threads."""

    component_class = HttpStager

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"chunk_size": 97, "retries": 1, "backoff": 0, "timeout": 10}
