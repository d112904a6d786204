"""A real ``sshd`` on loopback for the tests of the ``rsync`` stager.

:class:`SshServer` installs ``openssh-server``, ``openssh-client`` and ``rsync`` with
``apt-get`` when they are missing (as root; Debian and its derivatives), generates a
user key and a host key in a temporary directory, starts ``/usr/sbin/sshd -D`` as the
current user on a free port of 127.0.0.1 with a configuration of its own (only that
key may log in), waits until it answers, and gives the options the stager needs to
reach it::

    with SshServer() as server:
        stager = RsyncStager(**server.stager_options())
        stager.stage_in(File(server.url("/tmp/data/in.dat")), workdir)

Without PAM, sshd refuses a user whose password is locked (``!`` in ``/etc/shadow``,
as for ``nobody``); root in Debian's containers (``*``) and ordinary users are fine.

Leaving the block stops ``sshd`` and removes the directory. Nothing outside it is
changed except the packages installed and ``/run/sshd`` (the privilege separation
directory ``sshd`` needs when started as root).
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

SSHD = "/usr/sbin/sshd"
PACKAGES = ("openssh-server", "openssh-client", "rsync")
"""The Debian packages the harness needs: sshd, ssh and ssh-keygen, rsync."""
START_TIMEOUT = 15.0
"""Seconds to wait for ``sshd`` to answer on its port."""
APT_TIMEOUT = 600.0
"""Seconds ``apt-get update`` and ``apt-get install`` may take together."""
_LOCK = os.path.join(tempfile.gettempdir(), "plait-rsync-apt.lock")


class HarnessUnavailable(RuntimeError):
    """The harness cannot run here (packages missing and not root, no apt-get, sshd
    refusing to start); the message says why."""


def missing_programs() -> list[str]:
    """The programs the harness needs that are not installed."""
    found = {
        "sshd": os.access(SSHD, os.X_OK),
        "ssh": shutil.which("ssh") is not None,
        "ssh-keygen": shutil.which("ssh-keygen") is not None,
        "rsync": shutil.which("rsync") is not None,
    }
    return [name for name, ok in found.items() if not ok]


def ensure_packages() -> None:
    """Install :data:`PACKAGES` with apt-get when a program is missing.

    Safe when several processes call it at once: they take turns on a lock file and
    each checks again once it has the lock. Raises :class:`HarnessUnavailable` when the
    programs are missing and cannot be installed (not root, no apt-get, apt failed).
    """
    if not missing_programs():
        return
    if os.geteuid() != 0:
        raise HarnessUnavailable(
            f"{', '.join(missing_programs())} not installed and this is not root: "
            f"install {' '.join(PACKAGES)} (apt-get install {' '.join(PACKAGES)})"
        )
    if shutil.which("apt-get") is None:
        raise HarnessUnavailable(
            f"{', '.join(missing_programs())} not installed and there is no apt-get: "
            f"install sshd, ssh, ssh-keygen and rsync"
        )
    with open(_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not missing_programs():  # another process installed them meanwhile
                return
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            deadline = time.monotonic() + APT_TIMEOUT
            steps = [
                ["apt-get", "update", "-qq"],
                [
                    "apt-get",
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    "-o",
                    "DPkg::Lock::Timeout=300",
                    *PACKAGES,
                ],
            ]
            for command in steps:
                try:
                    proc = subprocess.run(
                        command,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        text=True,
                        timeout=max(1.0, deadline - time.monotonic()),
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    raise HarnessUnavailable(f"{' '.join(command)} timed out") from None
                if proc.returncode != 0:
                    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
                    raise HarnessUnavailable(
                        f"{' '.join(command)} failed (exit {proc.returncode}):\n{tail}"
                    )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if missing_programs():
        raise HarnessUnavailable(f"still missing after apt-get: {', '.join(missing_programs())}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port() -> int:
    """A port of 127.0.0.1 on which nothing listens (it was free a moment ago)."""
    return _free_port()


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
        timeout=30,
    )


def _banner(port: int) -> bool:
    """True when something on ``port`` greets like an SSH server."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.settimeout(1.0)
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


class SshServer:
    """An ``sshd`` on 127.0.0.1 that lets the current user in with a key of its own
    (see the module's docstring). Use it as a context manager, or call :meth:`start`
    and :meth:`stop`.

    Attributes once started: ``host`` (127.0.0.1), ``port``, ``user`` (the current
    user), ``identity_file`` (the private key), ``known_hosts`` (a file naming the
    server's host key, so no prompt and no ``accept-new`` write race), ``directory``
    (the temporary directory holding all of it) and ``log`` (sshd's log file).
    """

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.directory: Path | None = None
        self.port = 0
        self.user = getpass.getuser()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def identity_file(self) -> str:
        return str(self._dir / "id_ed25519")

    @property
    def known_hosts(self) -> str:
        return str(self._dir / "known_hosts")

    @property
    def log(self) -> Path:
        return self._dir / "sshd.log"

    @property
    def _dir(self) -> Path:
        if self.directory is None:
            raise RuntimeError("the SshServer is not started")
        return self.directory

    def ssh_options(self) -> list[str]:
        """ssh options that trust this server's host key only and read no ssh config
        of the user or the system."""
        return [
            "-F",
            "/dev/null",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "LogLevel=ERROR",
            # a classic key exchange: the tests make hundreds of connections, and the
            # default post-quantum one costs a third of each on a slow machine
            "-o",
            "KexAlgorithms=curve25519-sha256",
        ]

    def stager_options(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``RsyncStager`` that reach this server (``extra``
        added)."""
        return {
            "port": self.port,
            "user": self.user,
            "identity_file": self.identity_file,
            "ssh_options": self.ssh_options(),
            **extra,
        }

    def url(self, path: str | os.PathLike[str]) -> str:
        """The ``rsync://`` URL of the absolute ``path`` on this server."""
        text = os.fspath(path)
        if not text.startswith("/"):
            raise ValueError(f"{text!r} is not an absolute path")
        return f"rsync://{self.user}@{self.host}:{self.port}{text}"

    def start(self) -> SshServer:
        """Install what is missing, write keys and configuration, start sshd and wait
        until it answers; :class:`HarnessUnavailable` when that cannot be done."""
        ensure_packages()
        self.directory = Path(tempfile.mkdtemp(prefix="plait-rsync-sshd-"))
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        tmp = self._dir
        _keygen(tmp / "id_ed25519", "plait-rsync test user key")
        _keygen(tmp / "ssh_host_ed25519_key", "plait-rsync test host key")
        (tmp / "authorized_keys").write_text((tmp / "id_ed25519.pub").read_text())
        if os.geteuid() == 0:  # sshd started as root needs its privilege separation dir
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        problems = []
        for _attempt in range(3):  # the free port may be taken before sshd binds it
            self.port = _free_port()
            config = self._write_config()
            check = subprocess.run(
                [SSHD, "-t", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if check.returncode != 0:
                raise HarnessUnavailable(f"sshd -t refuses the configuration: {check.stderr}")
            with open(self.log, "ab") as log:
                self._proc = subprocess.Popen(
                    [SSHD, "-D", "-e", "-f", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            if self._wait_ready():
                host_key = (tmp / "ssh_host_ed25519_key.pub").read_text().split()
                line = f"[{self.host}]:{self.port} {host_key[0]} {host_key[1]}\n"
                Path(self.known_hosts).write_text(line)
                return
            problems.append(self._log_tail())
            self._stop_process()
        raise HarnessUnavailable(f"sshd did not start: {problems[-1]}")

    def _write_config(self) -> Path:
        tmp = self._dir
        config = tmp / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    f"ListenAddress {self.host}",
                    f"HostKey {tmp / 'ssh_host_ed25519_key'}",
                    f"PidFile {tmp / 'sshd.pid'}",
                    f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "PrintMotd no",
                    "MaxStartups 200",
                    "MaxSessions 200",
                    "LogLevel INFO",
                    "",
                ]
            )
        )
        return config

    def _wait_ready(self) -> bool:
        """Poll the port until sshd greets; False when sshd ended or the time is up."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            if _banner(self.port):
                return True
            time.sleep(0.05)  # polling interval, not a synchronisation
        return False

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """Stop sshd and remove the directory (safe to call twice)."""
        self._stop_process()
        directory, self.directory = self.directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> SshServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def server_or_skip() -> Iterator[SshServer]:
    """A started :class:`SshServer`, stopped afterwards; the calling test (or fixture)
    skips, saying why, when none can be had (not root and the packages missing)."""
    import pytest

    try:
        server = SshServer().start()
    except HarnessUnavailable as exc:
        pytest.skip(f"no sshd for the rsync stager's tests: {exc}")
    try:
        yield server
    finally:
        server.stop()
