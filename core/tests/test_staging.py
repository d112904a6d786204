"""Staging through the kernel: each executor's stagers and working directory, ``task``
and ``separate`` modes, stage-out before ``DataFuture``\\ s complete, the
``plait_resolve_stager`` hook, and the errors of bad input."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import File, python_app
from plait.builtins import LocalFileStager
from plait.errors import (
    ConfigError,
    DependencyError,
    MissingInputFileError,
    MissingOutputsError,
    StageOutUnsupportedError,
    StagingPathError,
)
from plait.interfaces import Stager
from plait.plugins import get_plugin_system, hookimpl
from plait_threads import ThreadPoolExecutor


class DirStager(Stager):
    """``mem://NAME/path``: files of a directory standing for a remote store."""

    schemes = frozenset({"mem"})
    capabilities = frozenset({"stage_out"})
    maturity = "beta"

    def __init__(self, root: str = "", modes: frozenset[str] = frozenset({"task"})) -> None:
        self.root = root
        self.modes = modes  # type: ignore[misc]  # the instance's, for these tests
        self.calls: list[tuple[str, str, str]] = []

    def remote(self, file: File) -> str:
        return os.path.join(self.root, file.netloc, file.path.lstrip("/"))

    def stage_in(self, file: File, workdir: str) -> File:
        self.calls.append(("in", file.url, threading.current_thread().name))
        if not os.path.exists(self.remote(file)):
            raise MissingInputFileError(f"{file.url} does not exist")
        os.makedirs(workdir, exist_ok=True)
        shutil.copyfile(self.remote(file), self.local_path(file, workdir))
        staged = File(file.url)
        staged.local_path = self.local_path(file, workdir)
        return staged

    def stage_out(self, file: File, workdir: str) -> None:
        self.calls.append(("out", file.url, threading.current_thread().name))
        if not os.path.exists(file.filepath):
            raise MissingOutputsError(f"{file.url} was not written", missing=[file.url])
        os.makedirs(os.path.dirname(self.remote(file)), exist_ok=True)
        shutil.copyfile(file.filepath, self.remote(file))


class InOnly(DirStager):
    capabilities = frozenset()


@python_app
def concat(inputs: Sequence[File] = (), outputs: Sequence[File] = ()) -> str:
    text = "".join(Path(f.filepath).read_text() for f in inputs)
    for out in outputs:
        Path(out.filepath).write_text(text.upper())
    return text


def kernel(tmp_path: Path, *stagers: Stager, **options: Any) -> plait.DataFlowKernel:
    executor = ThreadPoolExecutor(label="threads", max_threads=2)
    executor.staging = list(stagers)
    executor.working_dir = str(tmp_path / "work")
    config = plait.Config(
        executors=[executor], run_dir=str(tmp_path / "run"), error_reporters=[], **options
    )
    return plait.load(config)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    (root / "site").mkdir(parents=True)
    (root / "site" / "a.txt").write_text("alpha ")
    (root / "site" / "b.txt").write_text("beta")
    return root


@pytest.mark.parametrize("mode", ["task", "separate"])
def test_inputs_in_and_outputs_out_and_on_to_the_next_app(
    tmp_path: Path, store: Path, mode: str
) -> None:
    stager = DirStager(str(store), frozenset({mode}))
    a, b, out = File("mem://site/a.txt"), File("mem://site/b.txt"), File("mem://site/out/c.txt")
    with kernel(tmp_path, stager):
        first = concat(inputs=[a, b], outputs=[out])
        second = concat(inputs=[first.outputs[0]])  # waits for the published file
        assert first.result(30) == "alpha beta"
        assert (store / "site" / "out" / "c.txt").read_text() == "ALPHA BETA"
        assert second.result(30) == "ALPHA BETA"
    assert a.local_path is None and out.local_path is None  # the caller's Files are theirs
    threads = {name.rsplit("_", 1)[0] for _kind, _url, name in stager.calls}
    assert threads == ({"plait-threads"} if mode == "task" else {"plait-staging"})
    left = list((tmp_path / "work").rglob("*.txt")) if mode == "task" else []
    assert left == []  # task mode removes the task's directory


def test_the_resolve_hook_picks_the_stager(tmp_path: Path, store: Path) -> None:
    chosen = DirStager(str(store))

    class Resolver:
        @hookimpl
        def plait_resolve_stager(self, file: File, stagers: Sequence[Stager]) -> Stager | None:
            return chosen if file.netloc == "site" else None

    system = get_plugin_system()
    plugin = Resolver()
    system.pm.register(plugin)
    try:
        with kernel(tmp_path, DirStager("/nowhere")):
            assert concat(inputs=[File("mem://site/a.txt")]).result(30) == "alpha "
    finally:
        system.pm.unregister(plugin)
    assert [call[0] for call in chosen.calls] == ["in"]


def test_a_stage_in_failure_fails_only_that_task_and_a_retry_runs_again(
    tmp_path: Path, store: Path
) -> None:
    class Flaky(DirStager):
        failed = False

        def stage_in(self, file: File, workdir: str) -> File:
            if not Flaky.failed:
                Flaky.failed = True
                raise MissingInputFileError(f"{file.url} not there yet")
            return super().stage_in(file, workdir)

    with kernel(tmp_path, Flaky(str(store), frozenset({"separate"})), retries=1):
        assert concat(inputs=[File("mem://site/a.txt")]).result(30) == "alpha "
    with kernel(tmp_path, DirStager(str(store))):
        missing = concat(inputs=[File("mem://site/none.txt")])
        fine = concat(inputs=[File("mem://site/b.txt")])
        after = concat(inputs=[missing])
        assert "mem://site/none.txt" in str(missing.exception(30))
        assert fine.result(30) == "beta"
        assert isinstance(after.exception(30), DependencyError)


def test_outputs_a_stager_cannot_publish_fail_before_the_app_runs(
    tmp_path: Path, store: Path
) -> None:
    ran = []

    @python_app
    def write(outputs: Sequence[File] = ()) -> None:
        ran.append(1)

    with kernel(tmp_path, InOnly(str(store))):
        error = write(outputs=[File("mem://site/x.txt")]).exception(30)
    assert isinstance(error, StageOutUnsupportedError) and error.code == "PLT-403"
    assert "mem://site/x.txt" in error.message and not ran


def test_two_files_of_one_task_with_one_name_are_refused(tmp_path: Path, store: Path) -> None:
    (store / "other").mkdir()
    (store / "other" / "a.txt").write_text("other")
    with kernel(tmp_path, DirStager(str(store))):
        error = concat(inputs=[File("mem://site/a.txt"), File("mem://other/a.txt")]).exception(30)
    assert isinstance(error, StagingPathError) and error.code == "PLT-402"
    assert "'a.txt'" in error.message


def test_local_files_outside_the_allowed_roots_are_refused(tmp_path: Path) -> None:
    inside, outside = tmp_path / "data" / "in.txt", tmp_path / "elsewhere.txt"
    inside.parent.mkdir()
    inside.write_text("in")
    outside.write_text("out")
    escape = File(str(tmp_path / "data" / ".." / "elsewhere.txt"))
    with kernel(tmp_path, LocalFileStager(allowed_roots=[str(tmp_path / "data")])):
        assert concat(inputs=[File(str(inside))]).result(30) == "in"
        for file in (File(str(outside)), escape):
            error = concat(inputs=[file]).exception(30)
            assert isinstance(error, StagingPathError), error
            assert file.url in error.message
        error = concat(outputs=[File(str(outside))]).exception(30)
        assert isinstance(error, StagingPathError)


def test_a_python_app_that_does_not_write_its_output_fails(tmp_path: Path) -> None:
    @python_app
    def lazy(outputs: Sequence[File] = ()) -> int:
        return 1

    target = tmp_path / "never.txt"
    with kernel(tmp_path):
        future = lazy(outputs=[File(str(target))])
        error = future.exception(30)
        assert isinstance(error, MissingOutputsError) and str(target) in error.message
        assert isinstance(future.outputs[0].exception(30), MissingOutputsError)


def test_executor_tables_take_staging_and_working_dir(tmp_path: Path, store: Path) -> None:
    table = {
        "kind": "threads",
        "label": "t",
        "staging": [{"kind": "local-file", "allowed_roots": [str(tmp_path)]}],
        "working_dir": str(tmp_path / "work"),
    }
    config = plait.Config.from_dict({"executors": [table]})
    executor = config.executors[0]
    assert [type(s) for s in executor.staging] == [LocalFileStager]
    assert executor.staging[0].allowed_roots == [str(tmp_path)]
    assert executor.working_dir == str(tmp_path / "work")
    for key, bad in (("staging", "local-file"), ("staging", ["no-such"]), ("working_dir", 3)):
        with pytest.raises(ConfigError, match=rf"executors\[0\]\.{key}"):
            plait.Config.from_dict({"executors": [{"kind": "threads", key: bad}]})


def test_a_task_waiting_for_its_inputs_can_be_cancelled(tmp_path: Path, store: Path) -> None:
    release, entered = threading.Event(), threading.Event()
    ran = []

    class Slow(DirStager):
        def stage_in(self, file: File, workdir: str) -> File:
            entered.set()
            release.wait(30)
            return super().stage_in(file, workdir)

    @python_app
    def record(inputs: Sequence[File] = ()) -> None:
        ran.append(1)

    with kernel(tmp_path, Slow(str(store), frozenset({"separate"}))):
        future = record(inputs=[File("mem://site/a.txt")])
        assert entered.wait(30)
        assert future.cancel()
        release.set()
        after = record(inputs=[File("mem://site/b.txt")])
        after.result(30)
    assert future.cancelled() and ran == [1]  # only the second task ran
