"""The stager kit on ``http://`` URLs of a local server: the variant ``plait conformance
http`` runs (``HttpStager.conformance_kit``). Needs pytest (``pip install
"plait[conformance]"``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from plait.conformance.stager import MakeInput, StagerConformance
from plait.data.files import File
from plait_http.stager import HttpStager
from plait_http.testing import HttpTestServer


class HttpConformance(StagerConformance):
    """:class:`~plait.conformance.stager.StagerConformance` whose inputs are files a
    local HTTP server (:class:`~plait_http.testing.HttpTestServer`, with ``Range``
    support) serves from a directory under ``tmp_path``: ``make_input`` returns
    ``File("http://127.0.0.1:PORT/name")`` and ``missing_input`` a URL that answers 404.
    The server runs for one test and is stopped, its threads ended, after it."""

    component_class = HttpStager

    @pytest.fixture
    def http_server(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[HttpTestServer]:
        """The local server, serving ``tmp_path/kit-http``."""
        for variable in ("no_proxy", "NO_PROXY"):  # a configured proxy must not be used
            monkeypatch.setenv(
                variable, ",".join(filter(None, [os.environ.get(variable), "127.0.0.1"]))
            )
        root = tmp_path / "kit-http"
        root.mkdir()
        with HttpTestServer(str(root)) as server:
            yield server

    @pytest.fixture
    def make_input(self, http_server: HttpTestServer) -> MakeInput:
        def make(name: str, content: bytes) -> File:
            (Path(http_server.root) / name).write_bytes(content)
            return File(http_server.url(name))

        return make

    @pytest.fixture
    def missing_input(self, http_server: HttpTestServer) -> File:
        return File(http_server.url("does-not-exist.dat"))
