"""HttpStager over HTTP(S): streaming, resume, checksums, errors, options."""

from __future__ import annotations

import base64
import hashlib
import os
import pickle
import re
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from plait.data.files import File
from plait.errors import (
    ConfigError,
    MissingInputFileError,
    StageOutUnsupportedError,
    StagingError,
)
from plait_http import HttpStager
from plait_http.stager import redact
from plait_http.testing import HttpTestServer

MB = 1 << 20


def blob(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that differ from position to position (so an offset error shows)."""
    block = hashlib.sha512(str(seed).encode()).digest() * 8  # 512 bytes
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += block + counter.to_bytes(4, "big")
        counter += 1
    return bytes(out[:size])


def serve(www: Path, name: str, content: bytes) -> None:
    (www / name).write_bytes(content)


def left_in(workdir: Path) -> list[str]:
    return sorted(p.name for p in workdir.iterdir())


@pytest.fixture
def fast() -> HttpStager:
    """A stager that retries without waiting."""
    return HttpStager(backoff=0, chunk_size=64 * 1024)


def test_streams_a_large_file_without_holding_it_in_memory(
    www: Path, http_server: HttpTestServer, workdir: Path
) -> None:
    content = blob(8 * MB)
    serve(www, "big.bin", content)
    stager = HttpStager(chunk_size=64 * 1024)
    file = File(http_server.url("big.bin"))
    tracemalloc.start()
    try:
        staged = stager.stage_in(file, str(workdir))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert staged.url == file.url
    assert staged.filepath == str(workdir / "big.bin")
    assert Path(staged.filepath).read_bytes() == content
    assert peak < 2 * MB, f"peak Python memory {peak} bytes while downloading 8 MiB"
    assert left_in(workdir) == ["big.bin"]  # no temporary file left
    assert file.local_path is None  # the caller's File is not changed


def test_resumes_with_a_range_request_after_the_connection_drops(
    www: Path, http_server: HttpTestServer, workdir: Path, fast: HttpStager
) -> None:
    content = blob(3 * MB, seed=1)
    serve(www, "cut.bin", content)
    http_server.cut_once["cut.bin"] = MB + 12345
    staged = fast.stage_in(File(http_server.url("cut.bin")), str(workdir))
    assert Path(staged.filepath).read_bytes() == content
    first, second = http_server.requests
    assert first.range is None and first.status == 200
    assert second.status == 206
    assert second.range is not None and second.range.startswith("bytes=")
    offset = int(second.range.removeprefix("bytes=").rstrip("-"))
    assert 0 < offset <= MB + 12345  # went on from what had arrived, not from 0
    assert second.headers.get("If-Range")  # and only if the file is still the same


def test_restarts_from_zero_when_the_server_ignores_the_range(
    www: Path, http_server: HttpTestServer, workdir: Path, fast: HttpStager
) -> None:
    content = blob(2 * MB, seed=2)
    serve(www, "norange.bin", content)
    http_server.honour_range = False
    http_server.cut_once["norange.bin"] = MB
    staged = fast.stage_in(File(http_server.url("norange.bin")), str(workdir))
    assert Path(staged.filepath).read_bytes() == content  # not the first MiB twice
    assert [(r.range is not None, r.status) for r in http_server.requests] == [
        (False, 200),
        (True, 200),
    ]


def test_restarts_from_zero_when_the_file_changed_before_the_resume(
    www: Path, http_server: HttpTestServer, workdir: Path, fast: HttpStager
) -> None:
    serve(www, "moving.bin", blob(2 * MB, seed=3))
    http_server.cut_once["moving.bin"] = MB
    changed = blob(2 * MB, seed=4)

    real_take = http_server._take

    def take(name: str) -> tuple[int | None, int | None]:
        if len(http_server.requests) == 1:  # the second request: the file was replaced
            (www / "moving.bin").write_bytes(changed)
            os.utime(www / "moving.bin", ns=(1, 1))
        return real_take(name)

    http_server._take = take  # type: ignore[method-assign]
    staged = fast.stage_in(File(http_server.url("moving.bin")), str(workdir))
    assert Path(staged.filepath).read_bytes() == changed  # not old head + new tail
    assert http_server.requests[1].status == 200  # If-Range did not match


def test_gives_up_after_retries_and_removes_the_partial_file(
    www: Path, http_server: HttpTestServer, workdir: Path
) -> None:
    serve(www, "flaky.bin", blob(MB))
    url = http_server.url("flaky.bin")
    http_server.status_once["flaky.bin"] = [503, 503, 503]
    with pytest.raises(StagingError) as caught:
        HttpStager(retries=2, backoff=0).stage_in(File(url), str(workdir))
    assert url in str(caught.value) and "503" in str(caught.value)
    assert "3 attempts" in str(caught.value)
    assert len(http_server.requests) == 3
    assert left_in(workdir) == []


def test_retries_a_transient_status(
    www: Path, http_server: HttpTestServer, workdir: Path, fast: HttpStager
) -> None:
    content = blob(1000)
    serve(www, "busy.bin", content)
    http_server.status_once["busy.bin"] = [503, 502]
    staged = fast.stage_in(File(http_server.url("busy.bin")), str(workdir))
    assert Path(staged.filepath).read_bytes() == content
    assert [r.status for r in http_server.requests] == [503, 502, 200]


@pytest.mark.parametrize("algorithm", ["sha256", "md5", "sha1", "sha512"])
def test_a_matching_checksum_in_the_fragment_is_accepted_and_not_sent(
    www: Path, http_server: HttpTestServer, workdir: Path, algorithm: str
) -> None:
    content = blob(100_000, seed=5)
    serve(www, "sum.bin", content)
    digest = hashlib.new(algorithm, content).hexdigest()
    file = File(f"{http_server.url('sum.bin')}#{algorithm}={digest}")
    staged = HttpStager().stage_in(file, str(workdir))
    assert staged.url == file.url
    assert staged.filepath == str(workdir / "sum.bin")
    assert Path(staged.filepath).read_bytes() == content
    assert [r.path for r in http_server.requests] == ["/sum.bin"]


def test_a_checksum_mismatch_raises_naming_both_digests_and_leaves_no_file(
    www: Path, http_server: HttpTestServer, workdir: Path
) -> None:
    content = blob(300_000, seed=6)
    serve(www, "bad.bin", content)
    wrong = hashlib.sha256(b"something else").hexdigest()
    file = File(f"{http_server.url('bad.bin')}#sha256={wrong}")
    with pytest.raises(StagingError) as caught:
        HttpStager().stage_in(file, str(workdir))
    message = str(caught.value)
    assert file.url in message
    assert wrong in message and hashlib.sha256(content).hexdigest() in message
    assert left_in(workdir) == []


def test_a_malformed_digest_in_the_fragment_fails_before_downloading(
    www: Path, http_server: HttpTestServer, workdir: Path
) -> None:
    serve(www, "x.bin", b"x")
    file = File(f"{http_server.url('x.bin')}#sha256=abc")
    with pytest.raises(StagingError, match="64 hex digits"):
        HttpStager().stage_in(file, str(workdir))
    assert http_server.requests == []
    assert left_in(workdir) == []


def test_other_fragments_are_ignored(www: Path, http_server: HttpTestServer, workdir: Path) -> None:
    serve(www, "page.html", b"<html></html>")
    staged = HttpStager().stage_in(File(http_server.url("page.html") + "#intro"), str(workdir))
    assert Path(staged.filepath).read_bytes() == b"<html></html>"


def test_the_checksums_option_is_checked(
    www: Path, http_server: HttpTestServer, workdir: Path
) -> None:
    content = blob(5000, seed=7)
    serve(www, "opt.bin", content)
    url = http_server.url("opt.bin")
    good = HttpStager(checksums={url: "sha256:" + hashlib.sha256(content).hexdigest()})
    assert Path(good.stage_in(File(url), str(workdir)).filepath).read_bytes() == content
    bad = HttpStager(checksums={url: "md5:" + hashlib.md5(b"other").hexdigest()})
    with pytest.raises(StagingError, match="md5"):
        bad.stage_in(File(url), str(workdir / "again"))
    assert left_in(workdir / "again") == []


@pytest.mark.parametrize("status", [404, 410])
def test_a_missing_input_raises_missing_input_file_error_at_once(
    http_server: HttpTestServer, workdir: Path, status: int
) -> None:
    http_server.status_once["gone.dat"] = [status]
    url = http_server.url("gone.dat")
    with pytest.raises(MissingInputFileError) as caught:
        HttpStager(retries=5, backoff=10).stage_in(File(url), str(workdir))  # no retry
    assert url in str(caught.value) and str(status) in str(caught.value)
    assert len(http_server.requests) == 1
    assert left_in(workdir) == []


def test_a_client_error_status_raises_staging_error_without_retrying(
    http_server: HttpTestServer, workdir: Path
) -> None:
    http_server.status_once["secret.dat"] = [403]
    url = http_server.url("secret.dat")
    with pytest.raises(StagingError) as caught:
        HttpStager(retries=5, backoff=10).stage_in(File(url), str(workdir))
    assert not isinstance(caught.value, MissingInputFileError)
    assert url in str(caught.value) and "403" in str(caught.value)
    assert len(http_server.requests) == 1


def test_headers_are_sent_and_not_replaced_by_netrc(
    www: Path,
    http_server: HttpTestServer,
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve(www, "private.dat", b"data")
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bob password from-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    stager = HttpStager(headers={"Authorization": "Bearer t0ken"})
    stager.stage_in(File(http_server.url("private.dat")), str(workdir))
    assert http_server.requests[0].headers["Authorization"] == "Bearer t0ken"
    assert http_server.requests[0].headers["Accept-Encoding"] == "identity"


def test_a_urls_user_and_password_are_sent_as_basic_auth(
    www: Path, http_server: HttpTestServer, workdir: Path
) -> None:
    serve(www, "basic.dat", b"data")
    url = http_server.url("basic.dat").replace("http://", "http://carol:pa55@")
    HttpStager().stage_in(File(url), str(workdir))
    expected = "Basic " + base64.b64encode(b"carol:pa55").decode()
    assert http_server.requests[0].headers["Authorization"] == expected


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on: bound, so no one else takes it, but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_refused_connection_fails_promptly_with_staging_error(
    closed_port: int, workdir: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port}/data.bin"
    started = time.monotonic()
    with pytest.raises(StagingError) as caught:
        HttpStager().stage_in(File(url), str(workdir))  # default retries and backoff
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"a refused connection took {elapsed:.1f} s to fail"
    message = str(caught.value)
    assert url in message and "connection refused" in message
    assert "reachable from where staging runs" in message
    assert left_in(workdir) == []


def test_a_server_that_never_answers_times_out(workdir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # connections complete, nothing is ever read or sent
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/slow.bin"
        started = time.monotonic()
        with pytest.raises(StagingError) as caught:
            HttpStager(timeout=0.3, retries=1, backoff=0).stage_in(File(url), str(workdir))
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert url in str(caught.value) and "timeout of 0.3 s" in str(caught.value)
    assert left_in(workdir) == []


def test_many_threads_share_one_stager(
    www: Path, http_server: HttpTestServer, tmp_path: Path
) -> None:
    contents = {f"f{i}.bin": blob(50_000 + i * 997, seed=i) for i in range(24)}
    for name, content in contents.items():
        serve(www, name, content)
    for name in list(contents)[::3]:  # some of them drop mid-body and resume
        http_server.cut_once[name] = 20_000
    stager = HttpStager(backoff=0, chunk_size=4096)
    names = list(contents)
    barrier = threading.Barrier(8)

    def fetch(thread: int) -> dict[str, bytes]:
        barrier.wait(timeout=30)  # all eight start together
        got = {}
        for name in names[thread::8]:
            workdir = tmp_path / "tasks" / name  # one task's directory each
            workdir.mkdir(parents=True)
            staged = stager.stage_in(File(http_server.url(name)), str(workdir))
            got[name] = Path(staged.filepath).read_bytes()
        return got

    with ThreadPoolExecutor(8) as pool:
        results = {k: v for got in pool.map(fetch, range(8)) for k, v in got.items()}
    assert results == contents


def test_pickled_copies_keep_their_options_and_work(
    www: Path, http_server: HttpTestServer, workdir: Path, tmp_path: Path
) -> None:
    serve(www, "p.bin", b"pickled")
    ca = tmp_path / "ca.pem"
    stager = HttpStager(
        timeout=5,
        retries=1,
        backoff=0.01,
        chunk_size=1024,
        headers={"X-Token": "abc"},
        verify=str(ca),
        checksums={"http://example.org/a": "sha256:" + "0" * 64},
    )
    copy = pickle.loads(pickle.dumps(stager))
    assert copy == stager
    assert (
        Path(copy.stage_in(File(http_server.url("p.bin")), str(workdir)).filepath).read_bytes()
        == b"pickled"
    )
    assert http_server.requests[0].headers["X-Token"] == "abc"


def test_a_separate_mode_workdir_is_created(
    www: Path, http_server: HttpTestServer, tmp_path: Path
) -> None:
    serve(www, "s.bin", b"separate")
    workdir = tmp_path / "staging" / "task-7"
    staged = HttpStager().stage_in(File(http_server.url("s.bin")), str(workdir))
    assert Path(staged.filepath).read_bytes() == b"separate"


def test_staging_the_same_file_again_replaces_the_copy(
    www: Path, http_server: HttpTestServer, workdir: Path
) -> None:
    serve(www, "r.bin", b"first")
    stager = HttpStager()
    stager.stage_in(File(http_server.url("r.bin")), str(workdir))
    serve(www, "r.bin", b"second version")
    staged = stager.stage_in(File(http_server.url("r.bin")), str(workdir))
    assert Path(staged.filepath).read_bytes() == b"second version"
    assert left_in(workdir) == ["r.bin"]


def test_local_path_names_a_file_in_the_workdir() -> None:
    stager = HttpStager()
    assert stager.local_path(File("https://h/a/b/data.csv?x=1#sha256=00"), "/w") == "/w/data.csv"
    assert stager.local_path(File("https://example.org/"), "/w") == "/w/download"
    assert stager.local_path(File("https://example.org/a/.."), "/w") == "/w/download"


def test_stage_out_is_refused_naming_the_url() -> None:
    with pytest.raises(StageOutUnsupportedError, match=re.escape("https://h/out.dat")):
        HttpStager().stage_out(File("https://h/out.dat"), "/w")
    assert not HttpStager.has_capability("stage_out")


def test_passwords_are_not_shown() -> None:
    assert redact("ftp://alice:s3cret@h:21/x") == "ftp://alice:***@h:21/x"
    assert redact("https://h/x#sha256=00") == "https://h/x#sha256=00"


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": "30"},
        {"retries": -1},
        {"retries": 1.5},
        {"backoff": -1},
        {"chunk_size": 0},
        {"headers": {"X": 1}},
        {"headers": {"X": "a\nb"}},
        {"verify": ""},
        {"verify": 1},
        {"checksums": {"https://h/x": "sha256=00"}},
        {"checksums": {"https://h/x": "sha256:xyz"}},
        {"checksums": {"https://h/x": "crc32:00000000"}},
    ],
)
def test_invalid_options_raise_config_error(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as caught:
        HttpStager(**options)  # type: ignore[arg-type]
    assert caught.value.details["option"] == next(iter(options))


def test_registered_as_the_http_stager() -> None:
    from plait.plugins import get_plugin_system

    assert get_plugin_system().registry("stager").get("http") is HttpStager


def test_the_test_server_leaves_no_threads(www: Path) -> None:
    before = set(threading.enumerate())
    serve(www, "t.bin", blob(200_000))
    with HttpTestServer(str(www)) as server:
        server.cut_once["t.bin"] = 1000
        HttpStager(backoff=0).stage_in(File(server.url("t.bin")), str(www.parent / "t"))
    assert set(threading.enumerate()) - before == set()
