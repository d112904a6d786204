"""What users of the rsync stager rely on beyond the kit, over a real sshd and rsync on
loopback (:mod:`plait_rsync.testing`): errors they can act on, allowed_roots, URL forms,
remote directories made for outputs, big files, configuration and a whole run."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import plait
from plait.conformance.base import child_pids
from plait.errors import (
    ConfigError,
    MissingInputFileError,
    MissingOutputsError,
    StagingError,
    StagingPathError,
)
from plait.plugins import registry
from plait_rsync import RsyncStager
from plait_rsync import stager as stager_module
from plait_rsync.testing import SshServer, closed_port, server_or_skip

PROMPT = 10.0
"""Seconds within which a failure must be reported (no long retry loop)."""


@pytest.fixture(scope="module")
def server() -> Iterator[SshServer]:
    with server_or_skip() as started:
        yield started


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """The test's "remote" directory (on this host, reached through sshd)."""
    path = tmp_path / "remote"
    path.mkdir()
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> str:
    path = tmp_path / "workdir"
    path.mkdir()
    return str(path)


def make(server: SshServer, **options: Any) -> RsyncStager:
    return RsyncStager(**server.stager_options(**options))


def staged_content(stager: RsyncStager, url: str, workdir: str) -> bytes:
    return Path(stager.stage_in(plait.File(url), workdir).filepath).read_bytes()


def publish(stager: RsyncStager, url: str, workdir: str, content: bytes) -> None:
    """Write ``content`` where a task writes the output ``url``, and stage it out."""
    file = plait.File(url)
    file.local_path = stager.local_path(file, workdir)
    Path(file.local_path).write_bytes(content)
    stager.stage_out(file, workdir)


# --- outputs -----------------------------------------------------------------------


def test_stage_out_creates_missing_remote_directories(
    server: SshServer, remote: Path, workdir: str
) -> None:
    target = remote / "a" / "b c" / "d" / "out.dat"
    publish(make(server), server.url(target), workdir, b"nested")
    assert target.read_bytes() == b"nested"


def test_an_old_local_rsync_gets_mkdir_and_protected_args(
    server: SshServer, remote: Path, workdir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An rsync older than 3.2.3 has no --mkpath (the remote side runs mkdir -p first),
    and one older than 3.2.4 does not escape remote names (--protect-args does)."""
    monkeypatch.setattr(stager_module, "rsync_version", lambda binary: (3, 1, 2))
    stager = make(server)
    assert "--protect-args" in stager.rsync_command(stager.target(plait.File("rsync://h/f")), [])
    target = remote / "x" / "it's here" / "out $HOME.dat"
    publish(stager, server.url(target), workdir, b"made by mkdir -p")
    assert target.read_bytes() == b"made by mkdir -p"
    assert staged_content(stager, server.url(target), workdir) == b"made by mkdir -p"


def test_stage_out_replaces_an_existing_remote_file(
    server: SshServer, remote: Path, workdir: str
) -> None:
    target = remote / "out.dat"
    target.write_bytes(b"old content, longer than the new one")
    publish(make(server), server.url(target), workdir, b"new")
    assert target.read_bytes() == b"new"


def test_unwritten_output_raises_missing_outputs_error_and_publishes_nothing(
    server: SshServer, remote: Path, workdir: str
) -> None:
    file = plait.File(server.url(remote / "never.dat"))
    file.local_path = os.path.join(workdir, "never.dat")
    with pytest.raises(MissingOutputsError, match=file.url):
        make(server).stage_out(file, workdir)
    assert list(remote.iterdir()) == []


# --- inputs ------------------------------------------------------------------------


def test_missing_remote_input_raises_and_leaves_no_file(
    server: SshServer, remote: Path, workdir: str
) -> None:
    for url in (server.url(remote / "nope.dat"), server.url(remote / "no-dir" / "nope.dat")):
        with pytest.raises(MissingInputFileError, match=url) as info:
            make(server).stage_in(plait.File(url), workdir)
        assert "No such file" in str(info.value)  # rsync's own words
        assert os.listdir(workdir) == []


def test_a_remote_directory_is_refused_and_leaves_nothing(
    server: SshServer, remote: Path, workdir: str
) -> None:
    (remote / "dir").mkdir()
    (remote / "dir" / "inside.dat").write_bytes(b"x")
    url = server.url(remote / "dir")
    # --archive implies --recursive; the stager turns it off again
    with pytest.raises(StagingError, match="not a regular file") as info:
        make(server, rsync_options=["--archive"]).stage_in(plait.File(url), workdir)
    assert url in str(info.value)
    assert os.listdir(workdir) == []


def test_a_symbolic_link_is_followed(server: SshServer, remote: Path, workdir: str) -> None:
    (remote / "real.dat").write_bytes(b"the target")
    (remote / "link.dat").symlink_to(remote / "real.dat")
    stager = make(server, rsync_options=["--archive"])  # --archive alone copies links as links
    staged = stager.stage_in(plait.File(server.url(remote / "link.dat")), workdir)
    assert not os.path.islink(staged.filepath)
    assert Path(staged.filepath).read_bytes() == b"the target"


def test_big_file_round_trip(server: SshServer, remote: Path, workdir: str) -> None:
    content = os.urandom(6 * 1024 * 1024)
    (remote / "big.in").write_bytes(content)
    stager = make(server)
    staged = stager.stage_in(plait.File(server.url(remote / "big.in")), workdir)
    assert Path(staged.filepath).read_bytes() == content
    out = plait.File(server.url(remote / "back" / "big.out"))
    out.local_path = staged.filepath
    stager.stage_out(out, workdir)
    assert (remote / "back" / "big.out").read_bytes() == content
    assert os.listdir(workdir) == ["big.in"]  # no scratch directory left


def test_concurrent_stage_ins_of_one_file_into_several_workdirs(
    server: SshServer, remote: Path, tmp_path: Path
) -> None:
    content = os.urandom(256 * 1024)
    (remote / "shared.dat").write_bytes(content)
    url = server.url(remote / "shared.dat")
    stager = make(server)
    workdirs = [tmp_path / f"task-{i}" for i in range(6)]
    for path in workdirs:
        path.mkdir()
    barrier = threading.Barrier(len(workdirs))

    def task(path: Path) -> bytes:
        barrier.wait(timeout=30)
        return staged_content(stager, url, str(path))

    with ThreadPoolExecutor(len(workdirs)) as pool:
        results = list(pool.map(task, workdirs))
    assert results == [content] * len(workdirs)
    assert [sorted(os.listdir(p)) for p in workdirs] == [["shared.dat"]] * len(workdirs)


def test_calls_leave_no_process_behind(server: SshServer, remote: Path, workdir: str) -> None:
    (remote / "in.dat").write_bytes(b"x")
    before = child_pids()
    stager = make(server)
    stager.stage_in(plait.File(server.url(remote / "in.dat")), workdir)
    publish(stager, server.url(remote / "out.dat"), workdir, b"y")
    with pytest.raises(MissingInputFileError):
        stager.stage_in(plait.File(server.url(remote / "missing.dat")), workdir)
    assert child_pids() - before == set()


# --- URL forms and options -------------------------------------------------------------


def test_url_without_user_or_port_uses_the_options(
    server: SshServer, remote: Path, workdir: str
) -> None:
    (remote / "in.dat").write_bytes(b"by options")
    url = f"rsync://{server.host}{remote / 'in.dat'}"
    assert staged_content(make(server), url, workdir) == b"by options"


def test_url_user_and_port_win_over_the_options(
    server: SshServer, remote: Path, workdir: str
) -> None:
    (remote / "in.dat").write_bytes(b"by url")
    stager = make(server, port=closed_port(), user="nobody-here")
    assert staged_content(stager, server.url(remote / "in.dat"), workdir) == b"by url"


def test_paths_with_spaces_and_quotes(server: SshServer, remote: Path, workdir: str) -> None:
    path = remote / "my data" / "it's a file $HOME *.dat"
    path.parent.mkdir()
    path.write_bytes(b"odd name")
    stager = make(server)
    staged = stager.stage_in(plait.File(server.url(path)), workdir)
    assert os.path.basename(staged.filepath) == path.name
    assert Path(staged.filepath).read_bytes() == b"odd name"
    publish(stager, server.url(remote / "out dir" / "a b.dat"), workdir, b"out")
    assert (remote / "out dir" / "a b.dat").read_bytes() == b"out"


def test_identity_file_with_tilde_and_space(
    server: SshServer,
    remote: Path,
    workdir: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home dir"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "my key"
    key.write_bytes(Path(server.identity_file).read_bytes())
    key.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    (remote / "in.dat").write_bytes(b"keyed")
    stager = make(server, identity_file="~/.ssh/my key")
    assert staged_content(stager, server.url(remote / "in.dat"), workdir) == b"keyed"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("rsync:///no/host.dat", "names no host"),
        ("rsync://host", "absolute path"),
        ("rsync://host/dir/", "absolute path"),
        ("rsync://host/a/..", "absolute path"),
        ("rsync://host/file?x=1", "cannot be used"),
        ("rsync://host:99999/file.dat", "bad host or port"),
        ("rsync://user:secret@host/file.dat", "password"),
        ("rsync://-oProxyCommand=x/file.dat", "names no host"),
    ],
)
def test_unusable_urls_are_refused_before_running_rsync(url: str, words: str, workdir: str) -> None:
    stager = RsyncStager(rsync="/nonexistent/rsync")  # running it would fail otherwise
    with pytest.raises(StagingError, match=words) as info:
        stager.stage_in(plait.File(url), workdir)
    assert url in str(info.value)


# --- allowed_roots -------------------------------------------------------------------


def test_allowed_roots_refuse_inputs_and_outputs_outside(
    server: SshServer, remote: Path, workdir: str
) -> None:
    allowed = remote / "allowed"
    (allowed / "sub").mkdir(parents=True)
    (allowed / "sub" / "in.dat").write_bytes(b"inside")
    (remote / "secret.dat").write_bytes(b"outside")
    stager = make(server, allowed_roots=[str(allowed)])
    assert staged_content(stager, server.url(allowed / "sub" / "in.dat"), workdir) == b"inside"
    outside = [
        server.url(remote / "secret.dat"),
        server.url(f"{allowed}/../secret.dat"),
        server.url(f"{allowed}/sub/../../secret.dat"),
        server.url(f"{allowed}-other/x.dat"),  # a sibling sharing the prefix
    ]
    for url in outside:
        with pytest.raises(StagingPathError, match="outside the allowed roots") as info:
            stager.stage_in(plait.File(url), workdir)
        assert url in str(info.value)
        output = plait.File(url)
        output.local_path = os.path.join(workdir, "written.dat")
        Path(output.local_path).write_bytes(b"would overwrite")
        with pytest.raises(StagingPathError, match="outside the allowed roots"):
            stager.stage_out(output, workdir)
    assert (remote / "secret.dat").read_bytes() == b"outside"
    assert not Path(f"{allowed}-other").exists()
    assert sorted(os.listdir(workdir)) == ["in.dat", "written.dat"]


def test_allowed_roots_are_checked_before_anything_runs(workdir: str) -> None:
    stager = RsyncStager(rsync="/nonexistent/rsync", allowed_roots=["/data"])
    with pytest.raises(StagingPathError):
        stager.stage_in(plait.File("rsync://host/data/../etc/passwd"), workdir)
    output = plait.File("rsync://host/etc/out.dat")  # not written, and outside: the roots win
    output.local_path = os.path.join(workdir, "out.dat")
    with pytest.raises(StagingPathError):
        stager.stage_out(output, workdir)


# --- failures ------------------------------------------------------------------------


def test_unreachable_host_fails_promptly_naming_the_url(
    server: SshServer, remote: Path, workdir: str
) -> None:
    stager = make(server)
    url = f"rsync://{server.host}:{closed_port()}{remote / 'in.dat'}"
    start = time.monotonic()
    with pytest.raises(StagingError) as info:
        stager.stage_in(plait.File(url), workdir)
    assert time.monotonic() - start < PROMPT
    assert type(info.value) is StagingError
    assert url in str(info.value)
    assert "Connection refused" in str(info.value)
    assert "sshd runs there" in info.value.hint
    assert os.listdir(workdir) == []
    output = plait.File(url)
    output.local_path = os.path.join(workdir, "out.dat")
    Path(output.local_path).write_bytes(b"x")
    with pytest.raises(StagingError, match="Connection refused"):
        stager.stage_out(output, workdir)


def test_wrong_key_is_an_authentication_error(
    server: SshServer, remote: Path, workdir: str, tmp_path: Path
) -> None:
    other_key = tmp_path / "other_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)],
        check=True,
        capture_output=True,
    )
    (remote / "in.dat").write_bytes(b"x")
    url = server.url(remote / "in.dat")
    start = time.monotonic()
    with pytest.raises(StagingError) as info:
        make(server, identity_file=str(other_key)).stage_in(plait.File(url), workdir)
    assert time.monotonic() - start < PROMPT
    assert type(info.value) is StagingError
    assert url in str(info.value)
    assert "Permission denied (publickey" in str(info.value)
    assert "identity_file" in info.value.hint
    assert os.listdir(workdir) == []


def test_unknown_host_key_is_refused_not_prompted(
    server: SshServer, remote: Path, workdir: str, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.touch()
    options = ["-F", "/dev/null", "-o", f"UserKnownHostsFile={empty}"]
    options += ["-o", "GlobalKnownHostsFile=/dev/null"]
    (remote / "in.dat").write_bytes(b"x")
    url = server.url(remote / "in.dat")
    with pytest.raises(StagingError, match="Host key verification failed") as info:
        make(server, ssh_options=options).stage_in(plait.File(url), workdir)
    assert "known_hosts" in info.value.hint
    accept_new = [*options, "-o", "StrictHostKeyChecking=accept-new"]
    assert staged_content(make(server, ssh_options=accept_new), url, workdir) == b"x"


class DroppingProxy:
    """A port that closes its first ``drops`` connections at once (as an sshd over its
    MaxStartups does) and forwards the others to ``target``."""

    def __init__(self, target: int, drops: int) -> None:
        self.target, self.drops, self.accepted = target, drops, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._accept, name="test-proxy")]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            if self.accepted <= self.drops:
                conn.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((conn, upstream), (upstream, conn)):
                thread = threading.Thread(target=self._pump, args=(a, b), name="test-proxy")
                thread.start()
                self.threads.append(thread)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.stopping.set()
        self.threads[0].join()
        for thread in self.threads[1:]:
            thread.join(timeout=10)
        self.listener.close()


@pytest.mark.parametrize(
    ("drops", "retries", "works"), [(1, 2, True), (1, 0, False), (9, 2, False)]
)
def test_dropped_connections_are_retried_a_few_times(
    server: SshServer,
    remote: Path,
    workdir: str,
    drops: int,
    retries: int,
    works: bool,
) -> None:
    (remote / "in.dat").write_bytes(b"through the proxy")
    proxy = DroppingProxy(server.port, drops)
    try:
        url = f"rsync://{server.user}@{server.host}:{proxy.port}{remote / 'in.dat'}"
        alias = ["-o", f"HostKeyAlias=[{server.host}]:{server.port}"]  # the key sshd has
        stager = make(server, retries=retries, ssh_options=[*server.ssh_options(), *alias])
        start = time.monotonic()
        if works:
            assert staged_content(stager, url, workdir) == b"through the proxy"
        else:
            with pytest.raises(StagingError, match=r"Connection (closed|reset)") as info:
                stager.stage_in(plait.File(url), workdir)
            assert url in str(info.value)
            assert os.listdir(workdir) == []
        assert time.monotonic() - start < PROMPT
        assert proxy.accepted == (drops + 1 if works else retries + 1)
    finally:
        proxy.close()


def test_missing_rsync_program_says_to_install_it(
    server: SshServer, remote: Path, workdir: str
) -> None:
    url = server.url(remote / "in.dat")
    stager = make(server, rsync="/nonexistent/bin/rsync")
    with pytest.raises(StagingError, match="was not found") as info:
        stager.stage_in(plait.File(url), workdir)
    assert url in str(info.value)
    assert "install rsync" in info.value.hint
    assert os.listdir(workdir) == []


# --- configuration ---------------------------------------------------------------------


def test_registered_as_rsync_and_constructible_from_a_table() -> None:
    assert registry("stager").get("rsync") is RsyncStager
    stager = RsyncStager(ssh_options=("-o", "Compression=yes"), port=2222)
    assert stager.ssh_options == ["-o", "Compression=yes"]
    assert stager.rsync_options == ["--times"]


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"port": "22"}, "port"),
        ({"timeout": 0}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"ssh_options": "-o Foo=bar"}, "ssh_options"),
        ({"rsync_options": ["--remove-source-files"]}, "rsync_options"),
        ({"rsync_options": ["--rsh=ssh -p 2"]}, "rsync_options"),
        ({"rsync_options": ["stray-path"]}, "rsync_options"),
        ({"allowed_roots": ["relative/dir"]}, "allowed_roots"),
        ({"user": "a b"}, "user"),
        ({"user": "-oProxyCommand=x"}, "user"),
        ({"identity_file": ""}, "identity_file"),
        ({"rsync": ""}, "rsync"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], name: str) -> None:
    with pytest.raises(ConfigError) as info:
        RsyncStager(**options)
    assert info.value.details.get("option") == name


def test_a_pickled_copy_keeps_its_options_and_works(
    server: SshServer, remote: Path, workdir: str
) -> None:
    stager = make(server, allowed_roots=[str(remote)], timeout=12.5, retries=1)
    copy = pickle.loads(pickle.dumps(stager))
    assert copy == stager
    (remote / "in.dat").write_bytes(b"pickled")
    assert staged_content(copy, server.url(remote / "in.dat"), workdir) == b"pickled"
    with pytest.raises(StagingPathError):
        copy.stage_in(plait.File(server.url("/etc/hostname")), workdir)


@pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")
def test_a_run_configured_from_a_table(server: SshServer, remote: Path, tmp_path: Path) -> None:
    """The configuration a user writes: a threads executor whose staging is the rsync
    stager; an app reads an rsync input and writes an rsync output that a second app
    reads."""
    (remote / "in.dat").write_bytes(b"hello")
    options = server.stager_options(allowed_roots=[str(remote)])
    config = plait.Config.from_dict(
        {
            "executors": [
                {
                    "kind": "threads",
                    "label": "workers",
                    "max_threads": 2,
                    "staging": [{"kind": "rsync", **options}],
                    "working_dir": str(tmp_path / "work"),
                }
            ],
            "run_dir": str(tmp_path / "runinfo"),
            "error_reporters": [],
        }
    )

    @plait.python_app
    def shout(inputs: list[plait.File], outputs: list[plait.File]) -> None:
        text = Path(inputs[0].filepath).read_text()
        Path(outputs[0].filepath).write_text(text.upper())

    @plait.python_app
    def read(inputs: list[plait.File]) -> str:
        return Path(inputs[0].filepath).read_text()

    with plait.load(config):
        first = shout(
            inputs=[plait.File(server.url(remote / "in.dat"))],
            outputs=[plait.File(server.url(remote / "results" / "out.dat"))],
        )
        assert read(inputs=[first.outputs[0]]).result(60) == "HELLO"
    assert (remote / "results" / "out.dat").read_text() == "HELLO"
    work = tmp_path / "work"
    assert not work.exists() or list(work.rglob("*")) == []
