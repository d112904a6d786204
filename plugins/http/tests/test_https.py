"""HttpStager over HTTPS, against a local server with a certificate from a throwaway CA
(trustme): verification against a CA bundle, failure without it, resume over TLS."""

from __future__ import annotations

import hashlib
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trustme
import urllib3

from plait.data.files import File
from plait.errors import StagingError
from plait_http import HttpStager

if TYPE_CHECKING:
    from plait_http.testing import HttpTestServer

CONTENT = hashlib.sha512(b"tls").digest() * 20_000  # 1.28 MB


@pytest.fixture
def ca_bundle(tmp_path: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture
def https_server(www: Path, ca_bundle: tuple[trustme.CA, Path]) -> Iterator[HttpTestServer]:
    from plait_http.testing import HttpTestServer

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca_bundle[0].issue_cert("127.0.0.1", "localhost").configure_cert(context)
    (www / "secure.bin").write_bytes(CONTENT)
    with HttpTestServer(str(www), ssl_context=context) as server:
        yield server


def test_verifies_against_a_ca_bundle_path(
    https_server: HttpTestServer, ca_bundle: tuple[trustme.CA, Path], workdir: Path
) -> None:
    url = https_server.url("secure.bin")
    assert url.startswith("https://")
    staged = HttpStager(verify=str(ca_bundle[1])).stage_in(File(url), str(workdir))
    assert Path(staged.filepath).read_bytes() == CONTENT


def test_resumes_over_tls(
    https_server: HttpTestServer, ca_bundle: tuple[trustme.CA, Path], workdir: Path
) -> None:
    https_server.cut_once["secure.bin"] = 500_000
    stager = HttpStager(verify=str(ca_bundle[1]), backoff=0, chunk_size=32 * 1024)
    staged = stager.stage_in(File(https_server.url("secure.bin")), str(workdir))
    assert Path(staged.filepath).read_bytes() == CONTENT
    assert [r.status for r in https_server.requests] == [200, 206]


def test_an_untrusted_certificate_fails_with_a_hint_and_no_retries(
    https_server: HttpTestServer, workdir: Path
) -> None:
    url = https_server.url("secure.bin")
    with pytest.raises(StagingError) as caught:
        HttpStager(retries=3, backoff=10).stage_in(File(url), str(workdir))  # trusts public CAs
    message = str(caught.value)
    assert url in message and "TLS verification failed" in message
    assert "verify" in caught.value.hint
    assert https_server.requests == []
    assert list(workdir.iterdir()) == []


def test_verification_can_be_turned_off(https_server: HttpTestServer, workdir: Path) -> None:
    with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
        staged = HttpStager(verify=False).stage_in(
            File(https_server.url("secure.bin")), str(workdir)
        )
    assert Path(staged.filepath).read_bytes() == CONTENT


def test_a_missing_ca_bundle_is_named(
    https_server: HttpTestServer, tmp_path: Path, workdir: Path
) -> None:
    bundle = tmp_path / "no-such-ca.pem"
    with pytest.raises(StagingError, match=re.escape(str(bundle))):
        HttpStager(verify=str(bundle)).stage_in(File(https_server.url("secure.bin")), str(workdir))
    assert list(workdir.iterdir()) == []
