"""Local servers for the tests: HTTP(S) from :mod:`plait_http.testing`, FTP from
pyftpdlib on a thread (anonymous and ``alice``/``s3cret``, both read-only at ``root``)."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

with warnings.catch_warnings():  # pyftpdlib imports asyncore and asynchat (deprecated)
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.filesystems import AbstractedFS
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.ioloop import IOLoop
    from pyftpdlib.servers import FTPServer

if TYPE_CHECKING:  # plait_http is imported later, once typeguard instruments it
    from plait_http.testing import HttpTestServer

FTP_USER, FTP_PASSWORD = "alice", "s3cret"


@pytest.fixture(autouse=True)
def _no_proxy_for_local_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(
            variable, ",".join(filter(None, [os.environ.get(variable), "127.0.0.1"]))
        )


@pytest.fixture
def www(tmp_path: Path) -> Path:
    """The directory the HTTP server serves."""
    path = tmp_path / "www"
    path.mkdir()
    return path


@pytest.fixture
def http_server(www: Path) -> Iterator[HttpTestServer]:
    from plait_http.testing import HttpTestServer

    with HttpTestServer(str(www)) as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A task's directory."""
    path = tmp_path / "task"
    path.mkdir()
    return path


class _DroppingFile:
    """A file whose reads fail after ``limit`` bytes, as if the data connection broke:
    pyftpdlib then closes it and answers ``426 ... transfer aborted``."""

    def __init__(self, real: Any, limit: int) -> None:
        self._real = real
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            raise OSError("the test server drops the data connection")
        data: bytes = self._real.read(min(size, self._left) if size >= 0 else self._left)
        self._left -= len(data)
        return data

    def __getattr__(self, name: str) -> Any:  # seek, tell, close, closed, name
        return getattr(self._real, name)


class FtpTestServer:
    """pyftpdlib serving ``root`` from a thread; ``commands`` logs the ``REST`` and
    ``RETR`` commands it got; ``drop_once[name] = n`` breaks the next transfer of
    ``name`` after ``n`` bytes."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.commands: list[str] = []
        self.drop_once: dict[str, int] = {}
        self._lock = threading.Lock()
        owner = self

        class DroppingFS(AbstractedFS):  # type: ignore[misc]
            def open(self, filename: str, mode: str) -> Any:
                real = super().open(filename, mode)
                with owner._lock:
                    limit = owner.drop_once.pop(os.path.basename(filename), None)
                return real if limit is None else _DroppingFile(real, limit)

        class Handler(FTPHandler):  # type: ignore[misc]
            abstracted_fs = DroppingFS
            use_sendfile = False
            authorizer = DummyAuthorizer()

            def ftp_REST(self, line: str) -> Any:
                owner._log(f"REST {line}")
                return super().ftp_REST(line)

            def ftp_RETR(self, file: str) -> Any:
                owner._log(f"RETR {os.path.relpath(file, owner.root)}")
                return super().ftp_RETR(file)

        Handler.authorizer.add_anonymous(root)
        Handler.authorizer.add_user(FTP_USER, FTP_PASSWORD, root, perm="elr")
        self._server = FTPServer(("127.0.0.1", 0), Handler, ioloop=IOLoop())
        self.port: int = self._server.address[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="plait-http-test-ftp")

    def _log(self, command: str) -> None:
        with self._lock:
            self.commands.append(command)

    def url(self, name: str, user: str | None = None, password: str | None = None) -> str:
        login = f"{user}:{password}@" if user else ""
        return f"ftp://{login}127.0.0.1:{self.port}/{name}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        self._server.close_all()

    def start(self) -> FtpTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def ftp_root(tmp_path: Path) -> Path:
    path = tmp_path / "ftp"
    path.mkdir()
    return path


@pytest.fixture
def ftp_server_class() -> type[FtpTestServer]:
    return FtpTestServer


@pytest.fixture
def ftp_server(ftp_root: Path) -> Iterator[FtpTestServer]:
    log = logging.getLogger("pyftpdlib")  # quiet, and keep it from configuring logging
    handler = logging.NullHandler()
    log.addHandler(handler)
    server = FtpTestServer(str(ftp_root)).start()
    try:
        yield server
    finally:
        server.stop()
        log.removeHandler(handler)
