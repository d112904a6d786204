"""The ``http`` stager: inputs named by ``http``, ``https`` or ``ftp`` URL downloaded
into the task's directory, resumed when the connection drops, checked against a digest
when the URL (or the ``checksums`` option) gives one."""

from __future__ import annotations

import contextlib
import ftplib
import hashlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, ClassVar, NoReturn
from urllib.parse import SplitResult, unquote, urldefrag, urlsplit, urlunsplit

import attrs
import requests
import requests.auth
import urllib3

from plait.data.files import File
from plait.errors import (
    ConfigError,
    MissingInputFileError,
    PlaitError,
    StageOutUnsupportedError,
    StagingError,
)
from plait.interfaces import Stager
from plait.validators import AttrsField, int_at_least, positive_number
from plait_http.checksums import from_fragment, parse_option

logger = logging.getLogger("plait_http")

DEFAULT_CHUNK_SIZE = 1 << 20
"""Bytes read from the connection and written to the file at a time (1 MiB)."""

MAX_BACKOFF = 5.0
"""Seconds one wait between attempts lasts at most, whatever ``backoff`` says."""

MISSING_STATUSES = frozenset({404, 410})
"""HTTP statuses that mean the input does not exist."""

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses that are usually transient: retried like a dropped connection."""

FTP_MISSING = "550"
"""The FTP reply to a RETR of a file that does not exist (or may not be read)."""

REACH_HINT = (
    "check that the URL is right and that its server is reachable from where staging runs "
    "(in task mode: the node the task runs on; proxies are read from HTTP(S)_PROXY)"
)


class _Retry(Exception):
    """A transient failure: the attempt may be repeated (from where it stopped)."""


class _HeadersOnly(requests.auth.AuthBase):
    """An ``auth`` that changes nothing: with an ``Authorization`` header in ``headers``,
    it keeps requests from replacing it with credentials from ``~/.netrc``."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def _non_negative_number(instance: Any, attribute: AttrsField, value: Any) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and 0 <= value < float("inf")):
        raise ConfigError(
            f"{type(instance).__name__}.{attribute.name}={value!r} must be a number of "
            "seconds >= 0",
            option=attribute.name,
        )


def _headers(instance: Any, attribute: AttrsField, value: Any) -> None:
    ok = isinstance(value, Mapping) and all(
        isinstance(k, str) and k.strip() and isinstance(v, str) and not {"\r", "\n"} & set(k + v)
        for k, v in value.items()
    )
    if not ok:
        raise ConfigError(
            f"{type(instance).__name__}.headers must map header names to one-line str "
            f"values, got {value!r}",
            hint='e.g. headers = {Authorization = "Bearer <token>"}',
            option="headers",
        )


def _verify(instance: Any, attribute: AttrsField, value: Any) -> None:
    if not (isinstance(value, bool) or (isinstance(value, str) and value.strip())):
        raise ConfigError(
            f"{type(instance).__name__}.verify={value!r} must be true, false or the path of "
            "a CA bundle (PEM)",
            option="verify",
        )


def _checksums(instance: Any, attribute: AttrsField, value: Any) -> None:
    parse_option(value)


def redact(url: str) -> str:
    """``url`` with the password of its ``user:password@`` part replaced by ``***``: the
    form error messages and logs show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: causes, contexts, ``reason`` and exception arguments."""
    seen: list[BaseException] = []
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        yield item
        stack.extend([item.__context__, item.__cause__, getattr(item, "reason", None)])
        stack.extend(item.args)


def describe(exc: BaseException, timeout: float) -> str:
    """A short account of a connection failure: refused, unresolvable name, timeout."""
    chain = list(_chain(exc))
    kinds: list[tuple[tuple[type[BaseException], ...], str]] = [
        ((ConnectionRefusedError,), "connection refused"),
        ((socket.gaierror,), "the host name does not resolve"),
        (
            (TimeoutError, requests.Timeout, urllib3.exceptions.TimeoutError),
            f"no answer within the timeout of {timeout:g} s",
        ),
    ]
    for types, what in kinds:
        for error in chain:
            if isinstance(error, types):
                return f"{what} ({error or type(error).__name__})"
    return f"{type(exc).__name__}: {exc}"


class _Sink:
    """The temporary file a download goes to, with how much it holds and running digests
    of its content."""

    def __init__(self, out: IO[bytes], path: str, algorithms: Iterable[str], shown: str) -> None:
        self.out = out
        self.path = path
        self.shown = shown
        self.algorithms = tuple(algorithms)
        self.received = 0
        self.hashers = {name: hashlib.new(name) for name in self.algorithms}

    def restart(self) -> None:
        """Drop what was received: the download starts again from byte 0."""
        self.out.seek(0)
        self.out.truncate()
        self.received = 0
        self.hashers = {name: hashlib.new(name) for name in self.algorithms}

    def write(self, chunk: bytes) -> None:
        try:
            self.out.write(chunk)
        except OSError as exc:  # a full disk is not worth retrying the download for
            raise StagingError(
                f"cannot write the download of {self.shown} to {self.path}: {exc}",
                hint="free space in the task's working directory (working_dir), or move it",
                url=self.shown,
            ) from exc
        self.received += len(chunk)
        for hasher in self.hashers.values():
            hasher.update(chunk)

    def digests(self) -> dict[str, str]:
        return {name: hasher.hexdigest() for name, hasher in self.hashers.items()}


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """``(first byte, total size)`` of a ``Content-Range: bytes a-b/total`` header (or
    ``bytes */total``); None for what it does not say."""
    if not header:
        return None, None
    unit, _, spec = header.strip().partition(" ")
    if unit.lower() != "bytes":
        return None, None
    span, _, total = spec.partition("/")
    first = span.partition("-")[0].strip()
    return (
        int(first) if first.isdigit() else None,
        int(total) if total.strip().isdigit() else None,
    )


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.strip().isdigit() else None


@attrs.define
class HttpStager(Stager):
    """Downloads inputs named by ``http://``, ``https://`` and ``ftp://`` URLs into the
    task's directory (``interface-specs/stager.md``); stage-in only.

    The body is streamed to a temporary file in the directory, renamed to
    :meth:`local_path` (``workdir/<file name>``) when complete and checked. When the
    connection drops mid-body the download goes on from the bytes received (HTTP
    ``Range``, FTP ``REST``), up to ``retries`` times with a bounded backoff. A URL
    fragment ``#sha256=<hex>`` (or ``md5``, ``sha1``, ``sha512``, any algorithm
    ``hashlib`` always has) is checked after the download and never sent.

    Options: ``timeout`` (seconds per connect and per read), ``retries``, ``backoff``
    (seconds before the first retry, doubled for each next one, at most 5 s each),
    ``chunk_size``, ``headers`` (sent with every HTTP request), ``verify`` (TLS
    verification: true, false or a CA bundle's path), ``checksums`` (URL without
    fragment -> ``"sha256:<hex>"``).
    """

    timeout: float = attrs.field(default=30.0, validator=positive_number(unit="number of seconds"))
    retries: int = attrs.field(default=3, validator=int_at_least(0))
    backoff: float = attrs.field(default=0.2, validator=_non_negative_number)
    chunk_size: int = attrs.field(default=DEFAULT_CHUNK_SIZE, validator=int_at_least(1))
    headers: dict[str, str] = attrs.field(factory=dict, validator=_headers)
    verify: bool | str = attrs.field(default=True, validator=_verify)
    checksums: dict[str, str] = attrs.field(factory=dict, validator=_checksums)

    schemes: ClassVar[frozenset[str]] = frozenset({"http", "https", "ftp"})
    modes: ClassVar[frozenset[str]] = frozenset({"task", "separate"})
    capabilities: ClassVar[frozenset[str]] = frozenset()
    maturity: ClassVar[str] = "alpha"
    conformance_kit: ClassVar[str | None] = "plait_http.conformance:HttpConformance"

    def local_path(self, file: File, workdir: str) -> str:
        """``workdir/<file name>``; ``workdir/download`` for a URL whose path names no
        file (``https://example.org/``)."""
        name = file.filename
        return os.path.join(workdir, name if name not in ("", ".", "..") else "download")

    def stage_in(self, file: File, workdir: str) -> File:
        shown = redact(file.url)
        url, fragment = urldefrag(file.url)
        expected = from_fragment(fragment, shown)
        option = parse_option(self.checksums).get(url)
        if option is not None:
            if expected.get(option[0], option[1]) != option[1]:
                raise StagingError(
                    f"{shown}: the fragment's {option[0]} differs from the checksums option's",
                    hint="give the digest once, in the URL or in checksums",
                    url=shown,
                )
            expected[option[0]] = option[1]
        destination = self.local_path(file, workdir)
        directory = os.path.dirname(destination) or "."
        try:
            os.makedirs(directory, exist_ok=True)
            descriptor, partial = tempfile.mkstemp(
                prefix=".plait-http-", suffix=".part", dir=directory
            )
        except OSError as exc:
            raise StagingError(
                f"cannot download {shown}: cannot create a file in {directory}: {exc}",
                hint="check the executor's working_dir: it must be writable where tasks run",
                url=shown,
            ) from exc
        try:
            with os.fdopen(descriptor, "wb") as out:
                sink = _Sink(out, partial, expected, shown)
                if file.scheme == "ftp":
                    self._with_retries(lambda: self._ftp_attempt(url, sink), shown)
                else:
                    self._download_http(url, sink)
            actual = sink.digests()
            for algorithm, digest in expected.items():
                if actual[algorithm] != digest:
                    raise StagingError(
                        f"{shown}: {algorithm} mismatch: expected {digest}, the download's "
                        f"is {actual[algorithm]} ({sink.received} bytes)",
                        hint=(
                            "the file at the URL changed or was corrupted in transit; check "
                            "the expected digest"
                        ),
                        url=shown,
                        expected=digest,
                        actual=actual[algorithm],
                    )
            try:
                os.replace(partial, destination)
            except OSError as exc:
                raise StagingError(
                    f"cannot download {shown}: cannot move it to {destination}: {exc}",
                    url=shown,
                ) from exc
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise
        logger.debug("staged in %s to %s (%d bytes)", shown, destination, sink.received)
        staged = File(file.url)
        staged.local_path = destination
        return staged

    def stage_out(self, file: File, workdir: str) -> None:
        raise StageOutUnsupportedError(
            f"{redact(file.url)}: the http stager only downloads inputs; it cannot publish "
            "outputs to http, https or ftp URLs",
            url=redact(file.url),
        )

    # --- attempts ----------------------------------------------------------------

    def _with_retries(self, attempt: Callable[[], None], shown: str) -> None:
        """Run ``attempt()`` until it returns, at most ``retries`` more times after a
        transient failure, waiting ``backoff`` seconds (doubled each time) between."""
        problem = ""
        for number in range(self.retries + 1):
            try:
                attempt()
                return
            except PlaitError:
                raise
            except _Retry as exc:
                problem = str(exc)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                problem = describe(exc, self.timeout)
            except ftplib.error_perm as exc:
                raise StagingError(
                    f"cannot download {shown}: the FTP server answered {exc}", url=shown
                ) from exc
            except (EOFError, ftplib.Error) as exc:  # the control connection closed
                problem = f"the FTP server ended the session ({type(exc).__name__}: {exc})"
            if number < self.retries:
                wait = min(self.backoff * 2**number, MAX_BACKOFF)
                logger.info("%s: %s; retrying in %.2g s", shown, problem, wait)
                time.sleep(wait)
        attempts = self.retries + 1
        raise StagingError(
            f"cannot download {shown}: {problem} ({attempts} attempt{'s' if attempts > 1 else ''})",
            hint=REACH_HINT,
            url=shown,
        )

    def _download_http(self, url: str, sink: _Sink) -> None:
        bundle = self.verify if isinstance(self.verify, str) else None
        if bundle is not None and url.startswith("https:") and not os.path.exists(bundle):
            raise StagingError(
                f"{sink.shown}: the CA bundle verify={bundle!r} does not exist",
                hint="give the path of a PEM file of CA certificates, as seen where staging runs",
                url=sink.shown,
            )
        validator: list[str] = []  # If-Range: the first response's validator
        with requests.Session() as session:  # one per call: nothing shared between threads
            self._with_retries(
                lambda: self._http_attempt(session, url, sink, validator), sink.shown
            )

    def _http_attempt(
        self, session: requests.Session, url: str, sink: _Sink, validator: list[str]
    ) -> None:
        shown = sink.shown
        headers = {"Accept-Encoding": "identity", **self.headers}
        resume_from = sink.received
        if resume_from:
            headers["Range"] = f"bytes={resume_from}-"
            if validator:
                headers["If-Range"] = validator[0]
        explicit = any(key.lower() == "authorization" for key in self.headers)
        try:
            response = session.get(
                url,
                headers=headers,
                stream=True,
                timeout=(self.timeout, self.timeout),
                verify=self.verify,
                auth=_HeadersOnly() if explicit else None,
            )
        except requests.exceptions.SSLError as exc:
            self._tls_error(shown, exc)
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.InvalidHeader,
            requests.exceptions.TooManyRedirects,
        ) as exc:
            raise StagingError(f"cannot download {shown}: {exc}", url=shown) from exc
        with response:
            status = response.status_code
            if status in MISSING_STATUSES:
                raise MissingInputFileError(
                    f"input {shown} does not exist: the server answered {status} {response.reason}",
                    hint="check the URL, and that the server lets this client read it",
                    url=shown,
                    status=status,
                )
            if status == 416 and resume_from:  # the range starts at or after the end
                total = _content_range(response.headers.get("Content-Range"))[1]
                if total == resume_from:
                    return  # all was received before the connection dropped
                sink.restart()
                raise _Retry(f"the server refused to resume at byte {resume_from} (416)")
            if status in RETRY_STATUSES:
                raise _Retry(f"the server answered {status} {response.reason}")
            if status >= 400:
                raise StagingError(
                    f"cannot download {shown}: the server answered {status} {response.reason}",
                    hint=(
                        "401/403: give credentials, e.g. headers = {Authorization = ...}; "
                        "otherwise check the URL"
                    ),
                    url=shown,
                    status=status,
                )
            if not 200 <= status < 300:
                raise StagingError(
                    f"cannot download {shown}: unexpected answer {status} {response.reason}",
                    url=shown,
                    status=status,
                )
            if status == 206:
                first = _content_range(response.headers.get("Content-Range"))[0]
                if not resume_from or first != resume_from:
                    sink.restart()
                    raise _Retry(f"the server sent bytes from {first} when asked for {resume_from}")
            else:
                if resume_from:
                    logger.info("%s: the server ignored the range; restarting from 0", shown)
                    sink.restart()
                etag = response.headers.get("ETag", "")
                modified = response.headers.get("Last-Modified", "")
                validator[:] = [etag] if etag and not etag.startswith("W/") else []
                if modified and not validator:
                    validator.append(modified)
            length = _content_length(response)
            end = None if length is None else sink.received + length
            for chunk in response.raw.stream(self.chunk_size, decode_content=False):
                sink.write(chunk)
            if end is not None and sink.received < end:
                raise _Retry(f"the connection closed after {sink.received} of {end} bytes")

    def _tls_error(self, shown: str, exc: BaseException) -> NoReturn:
        raise StagingError(
            f"cannot download {shown}: TLS verification failed ({exc})",
            hint=(
                "if the server's certificate is signed by a private CA, set verify to the "
                "path of its CA bundle (PEM); verify = false turns the check off"
            ),
            url=shown,
        ) from exc

    def _ftp_attempt(self, url: str, sink: _Sink) -> None:
        shown = sink.shown
        parts: SplitResult = urlsplit(url)
        try:
            host, port = parts.hostname, parts.port or ftplib.FTP_PORT
        except ValueError as exc:  # a port that is not a number
            raise StagingError(f"cannot download {shown}: {exc}", url=shown) from exc
        # RFC 1738: the path is relative to the login directory; %2F makes it absolute
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not host or not path or path.endswith("/"):
            raise StagingError(f"cannot download {shown}: the URL names no file", url=shown)
        user = unquote(parts.username) if parts.username else "anonymous"
        password = unquote(parts.password) if parts.password else ""
        if {"\r", "\n"} & set(path + user + password):
            raise StagingError(
                f"cannot download {shown}: the URL has a line break (%0D or %0A) in it",
                url=shown,
            )
        ftp = ftplib.FTP(timeout=self.timeout)
        try:
            ftp.connect(host, port)
            try:
                ftp.login(user, password)
            except ftplib.error_perm as exc:
                raise StagingError(
                    f"cannot download {shown}: the FTP server refused the login as {user!r}: {exc}",
                    hint="give the user and password in the URL: ftp://user:password@host/path",
                    url=shown,
                ) from exc
            ftp.voidcmd("TYPE I")
            size: int | None = None
            with contextlib.suppress(ftplib.error_perm, ftplib.error_temp, ftplib.error_reply):
                size = ftp.size(path)
            if size is not None and sink.received > size:
                sink.restart()  # the file shrank since: start again
            resume_from = sink.received
            if size is not None and resume_from and resume_from == size:
                return
            try:
                ftp.retrbinary(
                    f"RETR {path}", sink.write, blocksize=self.chunk_size, rest=resume_from or None
                )
            except ftplib.error_perm as exc:
                if str(exc).startswith(FTP_MISSING):
                    raise MissingInputFileError(
                        f"input {shown} does not exist: the FTP server answered {exc}",
                        hint="check the URL; an FTP path is relative to the login directory",
                        url=shown,
                    ) from exc
                if resume_from:  # the server may not support REST: start again
                    sink.restart()
                    raise _Retry(f"the FTP server refused to resume ({exc})") from exc
                raise StagingError(
                    f"cannot download {shown}: the FTP server answered {exc}", url=shown
                ) from exc
            except ftplib.error_temp as exc:
                raise _Retry(f"the transfer broke off ({exc})") from exc
            if size is not None and sink.received < size:
                raise _Retry(f"the transfer ended after {sink.received} of {size} bytes")
            with contextlib.suppress(Exception):
                ftp.quit()
        finally:
            ftp.close()
