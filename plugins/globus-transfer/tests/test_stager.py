"""What the stager sends to Globus Transfer and what it gives the task: path mapping,
transfer options, collection detection, options, pickling, threads."""

from __future__ import annotations

import json
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from plait.data.files import File
from plait.errors import ConfigError, StagingError, StagingPathError
from plait_globus_transfer import GlobusTransferStager


def test_stage_in_moves_the_file_into_the_task_directory_through_the_collection(
    logged_in,
) -> None:
    site = logged_in
    file = site.input("in.h5", b"measurements")
    staged = site.stager().stage_in(file, str(site.workdir))

    local = site.workdir / "in.h5"
    assert staged.url == file.url
    assert staged.filepath == str(local)
    assert local.read_bytes() == b"measurements"
    (doc,) = site.service.submissions
    assert doc["source_endpoint"] == site.inputs
    assert doc["destination_endpoint"] == site.executor
    (item,) = doc["DATA"]
    assert item["source_path"] == "/data/in.h5"
    # local_root (tmp) is collection_root (/scratch/plait) on the executor's collection
    assert item["destination_path"] == "/scratch/plait/working-dir/task-1/in.h5"


def test_transfer_options(logged_in) -> None:
    site = logged_in
    site.stager().stage_in(site.input("a.dat", b"a"), str(site.workdir))
    site.stager(
        sync_level="checksum", verify_checksum=False, label_prefix="run 7/x", notify=True
    ).stage_in(site.input("b.dat", b"b"), str(site.workdir))

    default, custom = site.service.submissions
    assert default["label"] == "plait stage-in a.dat"
    assert default["verify_checksum"] is True
    assert "sync_level" not in default
    assert default["fail_on_quota_errors"] is True
    assert default["notify_on_succeeded"] is False and default["notify_on_failed"] is False
    assert default["deadline"]  # the service gives up too, after the timeout
    assert custom["sync_level"] == 3  # checksum
    assert custom["verify_checksum"] is False
    assert custom["label"] == "run 7_x stage-in b.dat"  # characters Transfer refuses replaced
    assert custom["notify_on_succeeded"] is True


def test_stage_out_publishes_from_the_executor_collection(logged_in) -> None:
    site = logged_in
    file = site.output("out.csv")
    file.local_path = str(site.workdir / "out.csv")
    site.workdir.mkdir(parents=True)
    Path(file.local_path).write_text("a,b\n1,2\n")

    assert site.stager().stage_out(file, str(site.workdir)) is None

    assert (site.output_dir / "results" / "out.csv").read_text() == "a,b\n1,2\n"
    (doc,) = site.service.submissions
    assert doc["source_endpoint"] == site.executor
    assert doc["DATA"][0]["source_path"] == "/scratch/plait/working-dir/task-1/out.csv"
    assert doc["destination_endpoint"] == site.outputs
    assert doc["DATA"][0]["destination_path"] == "/results/out.csv"
    assert doc["label"] == "plait stage-out out.csv"


def test_task_polled_until_done(logged_in) -> None:
    site = logged_in
    site.service.polls_before_done = 3
    file = site.input("slow.dat", b"slow")
    staged = site.stager().stage_in(file, str(site.workdir))
    assert Path(staged.filepath).read_bytes() == b"slow"
    assert len(site.service.requests_to(r"/v0\.10/task/")) == 3


def test_collection_kinds_found_once_through_transfer(site) -> None:
    """Without mapped_collections the stager asks Transfer what each collection is, once:
    a guest collection needs no data_access consent, mapped ones do."""
    site.login(site.inputs, site.executor)
    stager = site.stager()
    for name in ("1.dat", "2.dat"):
        stager.stage_in(site.input(name, b"x"), str(site.workdir))
    out = site.output("o.dat")
    site.workdir.mkdir(parents=True, exist_ok=True)
    (site.workdir / "o.dat").write_bytes(b"o")
    stager.stage_out(out, str(site.workdir))
    asked = [r.url.rsplit("/", 1)[-1] for r in site.service.requests_to(r"/v0\.10/endpoint/")]
    assert sorted(asked) == sorted([site.inputs, site.executor, site.outputs])


@pytest.mark.parametrize("kind", ["guest", "high-assurance", "gcsv4"])
def test_collections_without_data_access_need_no_consent(site, tmp_path, kind) -> None:
    other_dir = tmp_path / "collections" / kind
    other = site.service.add_collection(other_dir, kind)
    (other_dir / "f.dat").write_bytes(b"data")
    site.login(site.executor)  # no consent for `other`
    staged = site.stager().stage_in(File(f"globus://{other}/f.dat"), str(site.workdir))
    assert Path(staged.filepath).read_bytes() == b"data"


def test_mapped_collections_option_replaces_detection(logged_in) -> None:
    site = logged_in
    stager = site.stager(mapped_collections=[site.inputs, site.executor])
    stager.stage_in(site.input("x.dat", b"x"), str(site.workdir))
    assert site.service.requests_to(r"/v0\.10/endpoint/") == []


def test_construction_does_nothing_and_copies_work(logged_in) -> None:
    site = logged_in
    stager = site.stager()
    assert len(site.service.mock.calls) == 0
    stager.stage_in(site.input("first.dat", b"1"), str(site.workdir))
    copy = pickle.loads(pickle.dumps(stager))
    assert copy.collection == stager.collection and copy.local_root == stager.local_root
    assert copy._runtime.session is None  # nothing of the process travels
    staged = copy.stage_in(site.input("second.dat", b"2"), str(site.workdir))
    assert Path(staged.filepath).read_bytes() == b"2"
    GlobusTransferStager()  # the kernel builds default stagers with no arguments


def test_concurrent_stage_ins_refresh_the_token_once(site) -> None:
    """Eight threads find the access token expired: one refresh, every file right, and
    the token file left whole with the new token."""
    site.login(site.inputs, site.executor, expired=True)
    stager = site.stager()
    names = [f"f{i}.dat" for i in range(16)]
    files = {name: site.input(name, name.encode() * 100) for name in names}
    barrier = threading.Barrier(8)

    def stage(name: str) -> bytes:
        if name in names[:8]:
            barrier.wait(timeout=10)
        workdir = site.tmp / "working-dir" / name
        return Path(stager.stage_in(files[name], str(workdir)).filepath).read_bytes()

    with ThreadPoolExecutor(8) as pool:
        contents = list(pool.map(stage, names))
    assert contents == [name.encode() * 100 for name in names]
    assert site.service.refreshes == 1
    stored = json.loads(site.token_path.read_text())["data"]["DEFAULT"]
    assert stored["transfer.api.globus.org"]["access_token"] in site.service.access_tokens


def test_worker_paths_outside_local_root_are_refused(logged_in, tmp_path) -> None:
    site = logged_in
    stager = site.stager(local_root=str(tmp_path / "elsewhere"))
    file = site.input("x.dat", b"x")
    with pytest.raises(StagingPathError, match="outside local_root") as info:
        stager.stage_in(file, str(site.workdir))
    assert file.url in str(info.value)
    assert site.service.submissions == []


def test_allowed_roots_limit_remote_paths(logged_in) -> None:
    site = logged_in
    stager = site.stager(allowed_roots=["/data/public"])
    file = site.input("secret.dat", b"x")
    with pytest.raises(StagingPathError) as info:
        stager.stage_in(file, str(site.workdir))
    assert file.url in str(info.value) and info.value.code == "PLT-402"
    dotted = File(f"globus://{site.inputs}/data/public/../secret.dat")
    with pytest.raises(StagingPathError):
        stager.stage_in(dotted, str(site.workdir))
    assert len(site.service.mock.calls) == 0


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("globus://not-a-uuid/data/x.dat", "does not name a collection"),
        ("globus://6c54cade-bde5-45c1-bdea-f4bd71dba2cc", "absolute path"),
    ],
)
def test_malformed_urls(logged_in, url, words) -> None:
    with pytest.raises(StagingError, match=words) as info:
        logged_in.stager().stage_in(File(url), str(logged_in.workdir))
    assert url in str(info.value)


def test_no_executor_collection(logged_in) -> None:
    file = logged_in.input("x.dat", b"x")
    with pytest.raises(StagingError, match="no `collection`") as info:
        logged_in.stager(collection=None).stage_in(file, str(logged_in.workdir))
    assert "collection =" in info.value.hint and file.url in str(info.value)


def test_no_client_id(logged_in, monkeypatch) -> None:
    file = logged_in.input("x.dat", b"x")
    stager = logged_in.stager(client_id=None)
    with pytest.raises(StagingError, match="no Globus client id") as info:
        stager.stage_in(file, str(logged_in.workdir))
    assert "app.globus.org/settings/developers" in info.value.hint
    assert "PLAIT_GLOBUS_CLIENT_ID" in info.value.hint
    monkeypatch.setenv("PLAIT_GLOBUS_CLIENT_ID", logged_in.service.client_id)
    assert Path(stager.stage_in(file, str(logged_in.workdir)).filepath).read_bytes() == b"x"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"collection": "abc"}, "collection='abc' is not a UUID"),
        ({"client_id": 7}, "client_id=7 is not a UUID"),
        ({"local_root": "scratch"}, "must be an absolute path"),
        ({"collection_root": ""}, "must be an absolute path"),
        ({"mapped_collections": "6c54cade-bde5-45c1-bdea-f4bd71dba2cc"}, "list of collection"),
        ({"mapped_collections": ["x"]}, "not a UUID"),
        ({"sync_level": "fast"}, "must be one of exists, size, mtime, checksum"),
        ({"poll_interval": 0}, "positive number of seconds"),
        ({"timeout": -1}, "positive number of seconds"),
        ({"verify_checksum": "yes"}, "true or false"),
        ({"allowed_roots": "/data"}, "list of paths"),
    ],
)
def test_invalid_options(options, words) -> None:
    with pytest.raises(ConfigError, match=words):
        GlobusTransferStager(**options)


@pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")
def test_configuration_table_builds_the_stager(tmp_path) -> None:
    """The README's configuration: the executor's staging entry."""
    import plait

    config_file = tmp_path / "plait.toml"
    config_file.write_text(
        """
[[executors]]
kind = "threads"
label = "hpc"
working_dir = "/scratch/alice/plait"

[[executors.staging]]
kind = "globus-transfer"
collection = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc"
collection_root = "/"
local_root = "/"
mapped_collections = ["6c54cade-bde5-45c1-bdea-f4bd71dba2cc"]
"""
    )
    config = plait.Config.from_file(config_file)
    (stager,) = config.executors[0].staging
    assert isinstance(stager, GlobusTransferStager)
    assert stager.collection == "6c54cade-bde5-45c1-bdea-f4bd71dba2cc"
