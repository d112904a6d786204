"""HttpStager over FTP, against a local pyftpdlib server."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from plait.data.files import File
from plait.errors import MissingInputFileError, StagingError
from plait_http import HttpStager

FTP_USER, FTP_PASSWORD = "alice", "s3cret"


def payload(size: int, seed: int = 0) -> bytes:
    block = hashlib.sha512(str(seed).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def left_in(workdir: Path) -> list[str]:
    return sorted(p.name for p in workdir.iterdir())


def test_anonymous_download(ftp_root: Path, ftp_server: Any, workdir: Path) -> None:
    content = payload(3 << 20, seed=1)
    (ftp_root / "data.bin").write_bytes(content)
    file = File(ftp_server.url("data.bin"))
    staged = HttpStager(chunk_size=64 * 1024).stage_in(file, str(workdir))
    assert staged.url == file.url and staged.filepath == str(workdir / "data.bin")
    assert Path(staged.filepath).read_bytes() == content
    assert left_in(workdir) == ["data.bin"]
    assert ftp_server.commands == ["RETR data.bin"]


def test_login_with_the_urls_user_and_password(
    ftp_root: Path, ftp_server: Any, workdir: Path
) -> None:
    (ftp_root / "sub").mkdir()
    (ftp_root / "sub" / "private.txt").write_bytes(b"for alice")
    url = ftp_server.url("sub/private.txt", FTP_USER, FTP_PASSWORD)
    staged = HttpStager().stage_in(File(url), str(workdir))
    assert Path(staged.filepath).read_bytes() == b"for alice"
    assert staged.filepath == str(workdir / "private.txt")


def test_a_refused_login_names_the_url_but_not_the_password(
    ftp_root: Path, ftp_server: Any, workdir: Path
) -> None:
    (ftp_root / "x.txt").write_bytes(b"x")
    url = ftp_server.url("x.txt", FTP_USER, "wrong-password")
    with pytest.raises(StagingError) as caught:
        HttpStager(retries=3, backoff=10).stage_in(File(url), str(workdir))  # not retried
    message = str(caught.value)
    assert "wrong-password" not in message
    assert url.replace("wrong-password", "***") in message and "alice" in message
    assert left_in(workdir) == []


def test_a_missing_file_raises_missing_input_file_error(ftp_server: Any, workdir: Path) -> None:
    url = ftp_server.url("nothing-here.dat")
    with pytest.raises(MissingInputFileError) as caught:
        HttpStager(retries=3, backoff=10).stage_in(File(url), str(workdir))  # not retried
    assert url in str(caught.value) and "550" in str(caught.value)
    assert ftp_server.commands == ["RETR nothing-here.dat"]
    assert left_in(workdir) == []


def test_resumes_with_rest_after_the_data_connection_drops(
    ftp_root: Path, ftp_server: Any, workdir: Path
) -> None:
    content = payload(2 << 20, seed=2)
    (ftp_root / "big.bin").write_bytes(content)
    ftp_server.drop_once["big.bin"] = 700_000
    digest = hashlib.sha256(content).hexdigest()
    file = File(f"{ftp_server.url('big.bin')}#sha256={digest}")
    staged = HttpStager(backoff=0, chunk_size=8192).stage_in(file, str(workdir))
    assert Path(staged.filepath).read_bytes() == content
    first, rest, second = ftp_server.commands
    assert first == second == "RETR big.bin"
    offset = int(rest.removeprefix("REST "))
    assert 0 < offset <= 700_000  # went on from what had arrived, not from 0
    assert left_in(workdir) == ["big.bin"]


def test_a_checksum_mismatch_over_ftp_leaves_no_file(
    ftp_root: Path, ftp_server: Any, workdir: Path
) -> None:
    (ftp_root / "c.bin").write_bytes(b"content")
    file = File(f"{ftp_server.url('c.bin')}#md5={hashlib.md5(b'other').hexdigest()}")
    with pytest.raises(StagingError, match=hashlib.md5(b"content").hexdigest()):
        HttpStager().stage_in(file, str(workdir))
    assert left_in(workdir) == []


def test_many_threads_download_over_ftp(ftp_root: Path, ftp_server: Any, tmp_path: Path) -> None:
    contents = {f"f{i}.bin": payload(40_000 + 111 * i, seed=i) for i in range(16)}
    for name, content in contents.items():
        (ftp_root / name).write_bytes(content)
    stager = HttpStager(backoff=0)
    names = list(contents)
    barrier = threading.Barrier(4)

    def fetch(thread: int) -> dict[str, bytes]:
        barrier.wait(timeout=30)
        got = {}
        for name in names[thread::4]:
            workdir = tmp_path / "tasks" / name
            workdir.mkdir(parents=True)
            staged = stager.stage_in(File(ftp_server.url(name)), str(workdir))
            got[name] = Path(staged.filepath).read_bytes()
        return got

    with ThreadPoolExecutor(4) as pool:
        results = {k: v for got in pool.map(fetch, range(4)) for k, v in got.items()}
    assert results == contents


def test_the_ftp_test_server_leaves_no_threads(
    ftp_root: Path, ftp_server_class: Any, tmp_path: Path
) -> None:
    before = set(threading.enumerate())
    (ftp_root / "t.bin").write_bytes(b"t")
    server = ftp_server_class(str(ftp_root)).start()
    try:
        HttpStager().stage_in(File(server.url("t.bin")), str(tmp_path / "t"))
    finally:
        server.stop()
    assert set(threading.enumerate()) - before == set()


def test_a_line_break_in_the_path_is_refused(ftp_server: Any, workdir: Path) -> None:
    url = ftp_server.url("x.bin%0D%0ADELE%20y")
    with pytest.raises(StagingError, match="line break"):
        HttpStager().stage_in(File(url), str(workdir))
    assert ftp_server.commands == []
