"""A local HTTP(S) server for tests and the conformance kit: it serves the files of a
directory with ``Range`` support, logs the requests it got, and can misbehave on
purpose (cut a body short, ignore ranges, answer an error status once).

::

    with HttpTestServer(str(tmp_path)) as server:
        stager.stage_in(File(server.url("data.bin")), workdir)
        assert server.requests[0].path == "/data.bin"

Stopping it (leaving the ``with`` block, or :meth:`HttpTestServer.stop`) ends its
thread and the threads of requests still being served."""

from __future__ import annotations

import email.utils
import os
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import attrs

SEND_CHUNK = 1 << 16
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@attrs.frozen
class Served:
    """One request the server got."""

    method: str
    path: str
    """The request's path, as sent (a URL's fragment never is)."""
    headers: dict[str, str]
    status: int
    """The status it was answered with."""

    @property
    def range(self) -> str | None:
        """Its ``Range`` header, if it had one."""
        return self.headers.get("Range")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the threads of requests being served

    def __init__(self, owner: HttpTestServer, host: str) -> None:
        self.owner = owner
        super().__init__((host, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up (getfqdn), which can take seconds
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        host, port = self.socket.getsockname()[:2]
        self.server_name, self.server_port = str(host), int(port)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        context = self.owner.ssl_context
        if context is not None:  # the handshake happens on the request's thread
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(_Handler.timeout)
            try:
                request.do_handshake()
            except OSError:  # a client that does not trust the certificate hangs up
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-body is what some tests do on purpose


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads
    timeout = 10.0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {"Content-Length": "0"}).items():
            self.send_header(key, value)
        self.end_headers()

    def _serve(self, body: bool) -> None:
        owner = self.server.owner
        name = unquote(urlsplit(self.path).path).lstrip("/")
        status, cut = owner._take(name)
        path = os.path.realpath(os.path.join(owner.root, name))
        inside = path.startswith(os.path.realpath(owner.root) + os.sep)
        if status is None and not (inside and os.path.isfile(path)):
            status = 404
        if status is not None:
            owner._log(self, status)
            self._answer(status)
            return
        stat = os.stat(path)
        size, etag = stat.st_size, f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        headers = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
        }
        start, end, status = 0, size, 200
        match = _RANGE.fullmatch(self.headers.get("Range", "").strip())
        if_range = self.headers.get("If-Range")
        if match and owner.honour_range and (if_range is None or if_range == etag):
            start = int(match.group(1))
            end = min(size, int(match.group(2)) + 1) if match.group(2) else size
            if start >= size:
                owner._log(self, 416)
                self._answer(416, {"Content-Range": f"bytes */{size}", "Content-Length": "0"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        headers["Content-Length"] = str(end - start)
        owner._log(self, status)
        self._answer(status, headers)
        if not body:
            return
        remaining = end - start if cut is None else min(cut, end - start)
        with open(path, "rb") as file:
            file.seek(start)
            while remaining > 0:
                chunk = file.read(min(SEND_CHUNK, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)
        if cut is not None:  # the body is short of Content-Length: close now
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


class HttpTestServer:
    """Serves the files under ``root`` at ``http://127.0.0.1:<port>/`` (``https`` with
    ``ssl_context``) from a thread, until :meth:`stop`.

    Knobs a test sets (from any thread): ``cut_once[name] = n`` sends only the first
    ``n`` bytes of the body of the next request for ``name`` and closes the connection;
    ``status_once[name] = [503, ...]`` answers the next requests for ``name`` with these
    statuses, one each; ``honour_range = False`` ignores ``Range`` (answers 200 with the
    whole file). ``requests`` lists the requests answered, in order."""

    def __init__(
        self, root: str, *, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.root = root
        self.ssl_context = ssl_context
        self.host = host
        self.cut_once: dict[str, int] = {}
        self.status_once: dict[str, list[int]] = {}
        self.honour_range = True
        self.requests: list[Served] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return int(self._server.server_address[1])

    def url(self, name: str) -> str:
        """The URL of the file ``name`` (a path relative to ``root``)."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}/{quote(name)}"

    def start(self) -> HttpTestServer:
        self._server = _Server(self, self.host)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"plait-http-test-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; return once the server's threads have ended."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join()

    def __enter__(self) -> HttpTestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _take(self, name: str) -> tuple[int | None, int | None]:
        with self._lock:
            statuses = self.status_once.get(name)
            status = statuses.pop(0) if statuses else None
            cut = self.cut_once.pop(name, None) if status is None else None
            return status, cut

    def _log(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        served = Served(handler.command, handler.path, dict(handler.headers.items()), status)
        with self._lock:
            self.requests.append(served)
