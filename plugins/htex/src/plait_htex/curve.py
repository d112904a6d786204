"""CurveZMQ encryption (``encrypted = true``): keys made per run, sockets set up with them.

:func:`make_keys` writes a server and a client certificate (``zmq.auth`` format) into a
directory only the user can read (``<run dir>/htex/<label>/curve``); the interchange is
the CURVE server, the submit side and the managers are clients. The interchange runs a
ZAP authenticator (:func:`authenticator`) that admits only the run's client key, so a
process that knows the address but not the run's keys cannot connect.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

SERVER = "server"
CLIENT = "client"
ALLOWED = "allowed"
"""Subdirectory holding the public keys of the clients the server admits."""


def make_keys(directory: Path) -> Path:
    """Create a fresh server and client certificate in ``directory`` (mode 0700)."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    for name in (SERVER, CLIENT):
        _, secret = zmq.auth.create_certificates(str(directory), name)
        os.chmod(secret, 0o600)
    (directory / ALLOWED).mkdir(exist_ok=True)
    shutil.copy(directory / f"{CLIENT}.key", directory / ALLOWED / f"{CLIENT}.key")
    return directory


def _keys(directory: str | Path, name: str) -> tuple[bytes, bytes]:
    public, secret = zmq.auth.load_certificate(str(Path(directory) / f"{name}.key_secret"))
    assert secret is not None
    return public, secret


def server_socket_options(sock: zmq.Socket[bytes], directory: str | Path) -> None:
    """Make ``sock`` a CURVE server with the run's server keys."""
    sock.curve_publickey, sock.curve_secretkey = _keys(directory, SERVER)
    sock.curve_server = True


def client_socket_options(sock: zmq.Socket[bytes], directory: str | Path) -> None:
    """Make ``sock`` a CURVE client that trusts only the run's server key."""
    sock.curve_publickey, sock.curve_secretkey = _keys(directory, CLIENT)
    sock.curve_serverkey = _keys(directory, SERVER)[0]


def authenticator(
    context: zmq.Context[zmq.Socket[bytes]], directory: str | Path
) -> ThreadAuthenticator:
    """A started ZAP handler admitting only the run's client key on every socket of
    ``context``; call ``stop()`` on it before terminating the context."""
    auth = ThreadAuthenticator(context)
    auth.start()
    auth.configure_curve(domain="*", location=str(Path(directory) / ALLOWED))
    return auth
