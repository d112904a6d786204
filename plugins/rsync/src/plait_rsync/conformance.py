"""The stager kit over a real ``sshd`` and ``rsync`` on loopback
(:mod:`plait_rsync.testing`): the variant ``plait conformance rsync`` runs
(``RsyncStager.conformance_kit``). Needs pytest (``pip install "plait[conformance]"``),
and ``openssh-server``, ``openssh-client`` and ``rsync``, which the harness installs with
apt-get when it runs as root; elsewhere the tests that need them skip, saying why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.conformance.stager import MakeInput, MakeOutput, StagerConformance
from plait.data.files import File
from plait_rsync.stager import RsyncStager
from plait_rsync.testing import SshServer, server_or_skip


class RsyncConformance(StagerConformance):
    """:class:`~plait.conformance.stager.StagerConformance` with the files on an sshd
    started for the test class on 127.0.0.1 (a user key and a host key made for it):
    inputs are made in a "remote" directory of the test's ``tmp_path`` and named by
    ``rsync://USER@127.0.0.1:PORT/...`` URLs, outputs are read back from there.

    The stager gets the server's ``port``, ``user``, ``identity_file`` and
    ``ssh_options``; ``component_kwargs`` (``plait conformance rsync --option ...``)
    add to them or override them."""

    component_class = RsyncStager
    server_options: dict[str, Any]

    @pytest.fixture(scope="class")
    @classmethod
    def ssh_server(cls) -> Iterator[SshServer]:
        """An sshd on loopback for the class; the tests that need it skip when it
        cannot be had (not root and the packages missing)."""
        with server_or_skip() as server:
            yield server

    @pytest.fixture(autouse=True)
    def _server_options(self, request: pytest.FixtureRequest) -> None:
        """Before any fixture makes a stager (``stager``, ``kernel``, the test itself
        through ``component_kwargs``): the server's options for :meth:`make`."""
        self.server_options = {}
        if "component_kwargs" in request.fixturenames:
            server: SshServer = request.getfixturevalue("ssh_server")
            self.server_options = server.stager_options()

    @pytest.fixture
    def remote_dir(self, ssh_server: SshServer, tmp_path: Path) -> Path:
        """The directory the "remote" files of a test are in (on this host)."""
        path = tmp_path / "remote"
        path.mkdir()
        return path

    def make(self, component_kwargs: dict[str, Any]) -> Any:
        """The stager with the server's options, ``component_kwargs`` added."""
        return self.component_class(**{**self.server_options, **component_kwargs})

    @pytest.fixture
    def make_input(self, ssh_server: SshServer, remote_dir: Path) -> MakeInput:
        def make(name: str, content: bytes) -> File:
            path = remote_dir / "inputs" / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(content)
            return File(ssh_server.url(path))

        return make

    @pytest.fixture
    def missing_input(self, ssh_server: SshServer, remote_dir: Path) -> File:
        return File(ssh_server.url(remote_dir / "inputs" / "does-not-exist.dat"))

    @pytest.fixture
    def make_output(self, ssh_server: SshServer, remote_dir: Path) -> MakeOutput:
        def make(name: str) -> File:
            return File(ssh_server.url(remote_dir / "outputs" / name))

        return make
