"""The ``rsync`` stager: ``rsync://[user@]host[:port]/absolute/path`` files copied with
rsync over ssh, on the worker that runs the task (``interface-specs/stager.md``)."""

from __future__ import annotations

import copy
import functools
import math
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import attrs

from plait.data.files import File
from plait.data.roots import check_within
from plait.errors import (
    ConfigError,
    MissingInputFileError,
    MissingOutputsError,
    PlaitError,
    StagingError,
)
from plait.interfaces import Stager
from plait.validators import AttrsField, int_at_least, non_empty_str, positive_number

DEFAULT_RSYNC_OPTIONS = ("--times",)
"""``rsync_options`` when none are given: keep modification times."""
FIXED_RSYNC_OPTIONS = ("--copy-links", "--no-recursive")
"""Always passed after ``rsync_options``: a URL names one regular file (a symbolic link
is followed), never a directory tree."""
REFUSED_RSYNC_OPTIONS = ("--remove-source-files", "--rsh", "-e", "--old-args")
"""``rsync_options`` refused: the source must stay in place (STG-003), and ssh is
configured through ``ssh_options``, ``identity_file`` and ``port``."""
MKPATH_VERSION = (3, 2, 3)
"""The first rsync with ``--mkpath``."""
ESCAPES_ARGS_VERSION = (3, 2, 4)
"""The first rsync that escapes remote file names by itself; older ones get
``--protect-args``, else a remote path with spaces would be split by the remote shell."""
STDERR_TAIL_LINES = 8
RETRY_DELAY = 0.5
"""Seconds before the first retry of a dropped connection; doubled for each next one."""

_TRANSIENT = (
    "connection reset",
    "connection closed by",
    "kex_exchange_identification",
    "broken pipe",
    "connection unexpectedly closed",
)
_PERMANENT = (
    "permission denied",
    "host key verification failed",
    "connection refused",
    "could not resolve hostname",
    "no route to host",
    "network is unreachable",
    "timed out",
    "command not found",
    "no such file or directory",
)
_CONNECTION_EXIT_CODES = frozenset({5, 10, 12, 255})


def _as_list(value: Any) -> Any:
    """Tuples become lists; anything else is left for the validator to judge."""
    return list(value) if isinstance(value, tuple) else value


def _owner(instance: Any, attribute: AttrsField) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def _str_list(instance: Any, attribute: AttrsField, value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"{_owner(instance, attribute)}={value!r} must be a list of str",
            option=attribute.name,
        )
    bad = [item for item in value if not item or "\n" in item or "\0" in item]
    if bad:
        raise ConfigError(
            f"{_owner(instance, attribute)} has empty or multi-line items: {bad!r}",
            option=attribute.name,
        )


def _rsync_options(instance: Any, attribute: AttrsField, value: Any) -> None:
    _str_list(instance, attribute, value)
    for option in value:
        name = option.split("=", 1)[0]
        if not option.startswith("-"):
            raise ConfigError(
                f"{_owner(instance, attribute)}: {option!r} is not an option (rsync would "
                "take it for a file)",
                hint='give options only, such as "--compress"',
                option=attribute.name,
            )
        if name in REFUSED_RSYNC_OPTIONS:
            raise ConfigError(
                f"{_owner(instance, attribute)}: {option!r} is not allowed",
                hint="the source must stay in place; set ssh arguments with ssh_options, "
                "identity_file and port",
                option=attribute.name,
            )


def _remote_roots(instance: Any, attribute: AttrsField, value: Any) -> None:
    _str_list(instance, attribute, value)
    relative = [root for root in value if not root.startswith("/")]
    if relative:
        raise ConfigError(
            f"{_owner(instance, attribute)}: {relative!r} are not absolute paths",
            hint="allowed_roots are absolute paths on the remote hosts",
            option=attribute.name,
        )


def _optional_word(instance: Any, attribute: AttrsField, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value or value.startswith("-"):
        raise ConfigError(
            f"{_owner(instance, attribute)}={value!r} must be None or a non-empty str "
            "not starting with '-'",
            option=attribute.name,
        )
    if any(c.isspace() or c in "@:/\0" for c in value):
        raise ConfigError(
            f"{_owner(instance, attribute)}={value!r} must not contain spaces, '@', ':' or '/'",
            option=attribute.name,
        )


def _optional_path(instance: Any, attribute: AttrsField, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip() or "\n" in value or "\0" in value:
        raise ConfigError(
            f"{_owner(instance, attribute)}={value!r} must be None or a path",
            option=attribute.name,
        )


def _port(instance: Any, attribute: AttrsField, value: Any) -> None:
    int_at_least(1, optional=True)(instance, attribute, value)
    if value is not None and value > 65535:
        raise ConfigError(
            f"{_owner(instance, attribute)}={value!r} must be a port number (1-65535)",
            option=attribute.name,
        )


@functools.cache
def rsync_version(binary: str) -> tuple[int, ...] | None:
    """The version of the rsync at ``binary`` (``(3, 2, 7)``), None when it does not say;
    asked once per binary. Raises :class:`FileNotFoundError` when there is none."""
    proc = subprocess.run(
        [binary, "--version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=30,
        check=False,
    )
    match = re.search(r"version\s+v?(\d+(?:\.\d+)+)", proc.stdout)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


@attrs.frozen
class Target:
    """Where a URL points: the ssh destination and the normalised remote path."""

    user: str | None
    host: str
    port: int | None
    path: str

    @property
    def spec(self) -> str:
        """``[user@]host:path`` as rsync wants it (IPv6 addresses in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{user}{host}:{self.path}"


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-STDERR_TAIL_LINES:])


@attrs.define
class RsyncStager(Stager):
    """Stages ``rsync://[user@]host[:port]/absolute/path`` files with ``rsync`` over
    ``ssh`` (not the rsync daemon protocol), on the worker that runs the task.

    Stage-in copies the remote file to ``workdir/<file name>`` through a hidden
    directory in ``workdir`` that is removed whatever happens, so a failed copy leaves
    nothing behind (STG-006). Stage-out copies ``file.filepath`` to the remote path,
    creating missing remote directories. Each call runs one ``rsync`` (one ssh
    connection); ssh runs with ``BatchMode=yes``, so it never prompts.

    Options:

    * ``ssh_options``: extra ssh arguments (``["-o", "ProxyJump=gateway"]``).
    * ``identity_file``: the private key (``~`` is expanded on the worker); with it
      ssh offers that key only (``IdentitiesOnly=yes``).
    * ``user``, ``port``: used when the URL names none.
    * ``rsync_options``: extra rsync options (default ``["--times"]``).
    * ``allowed_roots``: remote directories inputs and outputs must lie in (default:
      anywhere); checked before anything runs, ``..`` resolved.
    * ``timeout``: seconds for ssh to connect and for rsync to wait on a stalled
      transfer (rsync ``--timeout``), default 30.
    * ``rsync``: the local rsync program (default ``rsync`` on ``PATH``).
    * ``retries``: how often a dropped connection is retried (default 2, after 0.5 and
      1 s); refused connections, authentication failures and missing files are not.
    """

    ssh_options: list[str] = attrs.field(factory=list, converter=_as_list, validator=_str_list)
    identity_file: str | None = attrs.field(default=None, validator=_optional_path)
    user: str | None = attrs.field(default=None, validator=_optional_word)
    port: int | None = attrs.field(default=None, validator=_port)
    rsync_options: list[str] = attrs.field(
        factory=lambda: list(DEFAULT_RSYNC_OPTIONS), converter=_as_list, validator=_rsync_options
    )
    allowed_roots: list[str] = attrs.field(
        factory=list, converter=_as_list, validator=_remote_roots
    )
    timeout: float = attrs.field(default=30.0, validator=positive_number(unit="number of seconds"))
    rsync: str = attrs.field(default="rsync", validator=non_empty_str)
    retries: int = attrs.field(default=2, validator=int_at_least(0))

    schemes: ClassVar[frozenset[str]] = frozenset({"rsync"})
    modes: ClassVar[frozenset[str]] = frozenset({"task"})
    capabilities: ClassVar[frozenset[str]] = frozenset({"stage_out"})
    maturity: ClassVar[str] = "alpha"
    conformance_kit: ClassVar[str | None] = "plait_rsync.conformance:RsyncConformance"

    # --- the interface ---------------------------------------------------------

    def stage_in(self, file: File, workdir: str) -> File:
        target = self.target(file)
        local = os.path.abspath(self.local_path(file, workdir))
        try:
            scratch = tempfile.mkdtemp(prefix=".plait-rsync-", dir=os.path.dirname(local))
        except OSError as exc:
            raise StagingError(
                f"cannot stage {file.url} in: {exc}", hint="check the task's working directory"
            ) from exc
        try:
            part = os.path.join(scratch, os.path.basename(local))
            self._run(file.url, target, [target.spec, part], "stage in")
            if not os.path.isfile(part):
                raise StagingError(
                    f"rsync copied nothing for {file.url}: {target.path} on {target.host} "
                    "is not a regular file",
                    hint="rsync:// URLs name files; stage a directory's files one by one",
                    url=file.url,
                )
            try:
                os.replace(part, local)
            except OSError as exc:
                raise StagingError(
                    f"cannot put {file.url} at {local}: {exc}", url=file.url
                ) from exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        staged = copy.copy(file)
        staged.local_path = local
        return staged

    def stage_out(self, file: File, workdir: str) -> None:
        target = self.target(file)
        source = os.path.abspath(file.filepath)
        if not os.path.lexists(source):
            raise MissingOutputsError(
                f"output file {file.url} was not written (nothing at {source})",
                missing=[source],
            )
        if not os.path.isfile(source):
            raise StagingError(
                f"output {file.url}: {source} is not a regular file",
                hint="rsync:// URLs name files; write a file (an archive of a directory)",
                url=file.url,
            )
        if self._version_at_least(MKPATH_VERSION):
            try:
                self._run(file.url, target, ["--mkpath", source, target.spec], "stage out")
                return
            except StagingError as exc:  # a remote rsync older than 3.2.3
                stderr = str(exc.details.get("stderr", ""))
                if not ("mkpath" in stderr and "unknown option" in stderr):
                    raise
        self._run(
            file.url, target, [self._mkdir_rsync_path(target), source, target.spec], "stage out"
        )

    # --- helpers -----------------------------------------------------------------

    def target(self, file: File) -> Target:
        """The ssh destination and remote path of ``file``'s URL, checked against
        ``allowed_roots``; :class:`~plait.errors.StagingError` (or
        :class:`~plait.errors.StagingPathError`) naming the URL when it is not usable."""
        url = file.url
        parts = urlsplit(url)
        if parts.scheme.lower() not in self.schemes:
            raise StagingError(f"{url} is not an rsync:// URL", url=url)
        if parts.query or parts.fragment or parts.path != file.path:
            raise StagingError(f"{url}: '?', '#' and ';' cannot be used in rsync:// URLs", url=url)
        try:
            host, port, username = parts.hostname, parts.port, parts.username
        except ValueError as exc:
            raise StagingError(f"{url} has a bad host or port: {exc}", url=url) from None
        if not host or host.startswith("-"):
            raise StagingError(
                f"{url} names no host",
                hint="write rsync://[user@]host[:port]/absolute/path",
                url=url,
            )
        if parts.password is not None:
            raise StagingError(
                f"{url} holds a password; the rsync stager logs in with ssh keys only",
                url=url,
            )
        user = unquote(username) if username else self.user
        if user is not None and (not user or user.startswith("-")):
            raise StagingError(f"{url} names a bad user {user!r}", url=url)
        path = parts.path
        if not path.startswith("/") or posixpath.basename(path) in ("", ".", ".."):
            raise StagingError(
                f"{url} does not name a file by its absolute path",
                hint="write rsync://[user@]host[:port]/absolute/path/to/file",
                url=url,
            )
        normal = posixpath.normpath(path)
        check_within(normal, self.allowed_roots, url, local=False)
        return Target(user=user, host=host, port=port or self.port, path=normal)

    def ssh_command(self, port: int | None) -> list[str]:
        """The ssh command rsync runs (``-e``)."""
        command = ["ssh", "-o", "BatchMode=yes", *self.ssh_options]
        if port is not None:
            command += ["-p", str(port)]
        if self.identity_file is not None:
            command += ["-i", os.path.expanduser(self.identity_file), "-o", "IdentitiesOnly=yes"]
        command += ["-o", f"ConnectTimeout={math.ceil(self.timeout)}"]
        return command

    def rsync_command(self, target: Target, arguments: list[str]) -> list[str]:
        """The full rsync command line for ``target`` ending with ``arguments``."""
        protect = [] if self._version_at_least(ESCAPES_ARGS_VERSION) else ["--protect-args"]
        return [
            self.rsync,
            *self.rsync_options,
            *FIXED_RSYNC_OPTIONS,
            *protect,
            f"--timeout={math.ceil(self.timeout)}",
            "--rsh",
            shlex.join(self.ssh_command(target.port)),
            *arguments,
        ]

    def _version_at_least(self, version: tuple[int, ...]) -> bool:
        """True when the local rsync is ``version`` or newer (False when unknown)."""
        try:
            found = rsync_version(self.rsync)
        except (OSError, subprocess.SubprocessError):
            return False  # the run reports a missing rsync
        return found is not None and found >= version

    def _mkdir_rsync_path(self, target: Target) -> str:
        remote_rsync = "rsync"
        for option in self.rsync_options:
            if option.startswith("--rsync-path="):
                remote_rsync = option.split("=", 1)[1]
        directory = shlex.quote(posixpath.dirname(target.path))
        return f"--rsync-path=mkdir -p {directory} && {remote_rsync}"

    def _run(self, url: str, target: Target, arguments: list[str], action: str) -> None:
        command = self.rsync_command(target, arguments)
        env = {**os.environ, "LC_ALL": "C"}
        for attempt in range(self.retries + 1):
            try:
                proc = subprocess.run(
                    command,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    env=env,
                    check=False,
                )
            except FileNotFoundError:
                raise StagingError(
                    f"cannot {action} {url}: the rsync program {self.rsync!r} was not found",
                    hint="install rsync where the task runs (apt-get install rsync, dnf install "
                    "rsync), or set the stager's rsync option to its path",
                    url=url,
                ) from None
            if proc.returncode == 0:
                return
            error = self._error(url, target, action, proc.returncode, proc.stderr)
            if attempt < self.retries and self._transient(proc.returncode, proc.stderr):
                time.sleep(RETRY_DELAY * 2**attempt)
                continue
            raise error

    @staticmethod
    def _transient(code: int, stderr: str) -> bool:
        text = stderr.lower()
        if code not in _CONNECTION_EXIT_CODES or any(word in text for word in _PERMANENT):
            return False
        return any(word in text for word in _TRANSIENT)

    def _error(self, url: str, target: Target, action: str, code: int, stderr: str) -> PlaitError:
        tail = _tail(stderr)
        text = stderr.lower()
        login = f"{target.user + '@' if target.user else ''}{target.host}"
        where = login if target.port is None else f"{login} port {target.port}"
        try_ssh = f"ssh{'' if target.port is None else f' -p {target.port}'} {login} true"
        message = f"cannot {action} {url}: rsync exited with {code}" + (
            f":\n{tail}" if tail else ""
        )
        details: dict[str, Any] = {"url": url, "exitcode": code, "stderr": tail}
        if action == "stage in" and code == 23 and "no such file or directory" in text:
            return MissingInputFileError(
                f"input file {url} does not exist ({target.path} on {target.host}): {tail}",
                path=target.path,
                **details,
            )
        if "host key verification failed" in text:
            hint = (
                f"ssh does not know the host key of {target.host}: add it to known_hosts "
                "(ssh-keyscan), or pass ssh_options = ['-o', 'StrictHostKeyChecking=accept-new']"
            )
        elif "permission denied (publickey" in text or "too many authentication" in text:
            hint = (
                f"ssh could not log in to {where} with a key: give identity_file (a key "
                "without a passphrase, or one in a running ssh-agent) whose public key is in "
                "the host's ~/.ssh/authorized_keys, and the right user"
            )
        elif any(word in text for word in ("connection refused", "could not resolve", "no route")):
            hint = f"check the host name and port ({where}) and that sshd runs there"
        elif "timed out" in text or code in (30, 35):
            hint = (
                f"{where} did not answer within {self.timeout} s: check the host, the "
                "network and firewalls between the worker and it, or raise timeout"
            )
        elif "failed to exec" in text or code == 14:
            hint = "install an ssh client where the task runs (apt-get install openssh-client)"
        elif "command not found" in text or code == 127:
            hint = (
                f"install rsync on {target.host}, or name its path with "
                "rsync_options = ['--rsync-path=/path/to/rsync']"
            )
        elif "permission denied" in text:
            hint = f"the ssh user on {target.host} may not access {target.path}"
        elif code in _CONNECTION_EXIT_CODES:
            hint = (
                f"the ssh connection to {where} failed: check that `{try_ssh}` works "
                "without a prompt (ssh -o BatchMode=yes) where the task runs"
            )
        else:
            hint = "read rsync's message above"
        return StagingError(message, hint=hint, **details)
