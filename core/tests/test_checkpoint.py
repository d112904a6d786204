"""Checkpoint files: memoized results written to ``runinfo/NNN/checkpoint`` in each
``checkpoint_mode`` and reused by a later run through ``checkpoint_files``."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import python_app
from plait.errors import CheckpointError

CHECKPOINT = Path("checkpoint") / "tasks.pkl"


def make_apps(counter: Any) -> tuple[Any, Any]:
    @python_app(cache=True)
    def cube(x: int) -> int:
        counter.hit(("cube", x))
        return x**3

    @python_app
    def uncached(x: int) -> int:
        counter.hit(("uncached", x))
        return x

    return cube, uncached


def checkpoint_file(kernel: plait.DataFlowKernel) -> Path:
    return Path(kernel.run_dir) / CHECKPOINT


def records(path: Path) -> list[dict[str, Any]]:
    out = []
    with open(path, "rb") as handle:
        while True:
            try:
                out.append(pickle.load(handle))
            except EOFError:
                return out


def test_task_exit_writes_after_each_task(load: Any, counter: Any) -> None:
    kernel = load(checkpoint_mode="task_exit")
    cube, uncached = make_apps(counter)
    path = checkpoint_file(kernel)
    assert cube(2).result(timeout=30) == 8
    assert path.exists(), "task_exit writes before the future completes"
    assert [r["result"] for r in records(path)] == [8]
    assert cube(3).result(timeout=30) == 27
    assert sorted(r["result"] for r in records(path)) == [8, 27]
    uncached(5).result(timeout=30)
    assert len(records(path)) == 2, "only cached apps are checkpointed"
    cube(2).result(timeout=30)  # a memo hit is not written again
    assert len(records(path)) == 2


def test_periodic_writes_in_the_background(load: Any, counter: Any, wait_for: Any) -> None:
    kernel = load(checkpoint_mode="periodic", checkpoint_period=0.2)
    cube, _ = make_apps(counter)
    path = checkpoint_file(kernel)
    assert cube(4).result(timeout=30) == 64
    wait_for(lambda: path.exists() and len(records(path)) == 1, what="periodic checkpoint")
    assert records(path)[0]["result"] == 64
    assert cube(5).result(timeout=30) == 125
    wait_for(lambda: len(records(path)) == 2, what="second periodic checkpoint")


def test_periodic_accepts_hh_mm_ss_period() -> None:
    config = plait.Config(checkpoint_mode="periodic", checkpoint_period="00:01:30")
    assert config.checkpoint_period == 90.0


def test_dfk_exit_writes_at_cleanup(load: Any, counter: Any) -> None:
    kernel = load(checkpoint_mode="dfk_exit")
    cube, _ = make_apps(counter)
    path = checkpoint_file(kernel)
    assert [cube(i).result(timeout=30) for i in range(3)] == [0, 1, 8]
    assert not path.exists()
    plait.clear()
    assert sorted(r["result"] for r in records(path)) == [0, 1, 8]


def test_manual_writes_only_when_asked(load: Any, counter: Any) -> None:
    kernel = load(checkpoint_mode="manual")
    cube, _ = make_apps(counter)
    path = checkpoint_file(kernel)
    cube(1).result(timeout=30)
    cube(2).result(timeout=30)
    assert not path.exists()
    assert plait.dfk().checkpoint() == 2
    assert sorted(r["result"] for r in records(path)) == [1, 8]
    assert plait.dfk().checkpoint() == 0, "nothing new to write"
    cube(3).result(timeout=30)
    plait.clear()
    assert len(records(path)) == 2, "manual mode writes nothing at exit"


def test_no_checkpoint_mode_writes_nothing(load: Any, counter: Any) -> None:
    kernel = load()
    cube, _ = make_apps(counter)
    cube(1).result(timeout=30)
    plait.clear()
    assert not checkpoint_file(kernel).exists()


@pytest.mark.parametrize("mode", ["task_exit", "periodic", "dfk_exit", "manual"])
@pytest.mark.parametrize("which", ["all", "last"])
def test_later_run_reuses_results(
    load: Any, counter: Any, run_dir: Path, mode: str, which: str
) -> None:
    load(checkpoint_mode=mode, checkpoint_period=0.2)
    cube, _ = make_apps(counter)
    assert [cube(i).result(timeout=30) for i in range(4)] == [0, 1, 8, 27]
    if mode == "manual":
        plait.dfk().checkpoint()
    plait.clear()
    assert counter.total == 4

    files = (
        plait.get_all_checkpoints(str(run_dir))
        if which == "all"
        else plait.get_last_checkpoint(str(run_dir))
    )
    assert len(files) == 1
    load(checkpoint_files=files)
    cube, _ = make_apps(counter)  # the same app, defined again in the new run
    assert [cube(i).result(timeout=30) for i in range(4)] == [0, 1, 8, 27]
    assert counter.total == 4, "results come from the checkpoint, nothing runs"
    assert cube(4).result(timeout=30) == 64
    assert counter[("cube", 4)] == 1


def test_checkpoints_accumulate_across_runs(load: Any, counter: Any, run_dir: Path) -> None:
    for values in ([1, 2], [3], []):
        load(checkpoint_mode="task_exit", checkpoint_files=plait.get_all_checkpoints(str(run_dir)))
        cube, _ = make_apps(counter)
        for v in values:
            cube(v).result(timeout=30)
        plait.clear()
    all_files = plait.get_all_checkpoints(str(run_dir))
    assert [Path(f).parent.name for f in all_files] == ["000", "001"]
    assert plait.get_last_checkpoint(str(run_dir)) == all_files[-1:]

    load(checkpoint_files=all_files)
    cube, _ = make_apps(counter)
    assert [cube(v).result(timeout=30) for v in (1, 2, 3)] == [1, 8, 27]
    assert counter.total == 3


def test_checkpoint_file_path_and_run_dir_are_accepted(
    load: Any, counter: Any, run_dir: Path
) -> None:
    kernel = load(checkpoint_mode="task_exit")
    cube, _ = make_apps(counter)
    cube(9).result(timeout=30)
    first_run = Path(kernel.run_dir)
    plait.clear()
    for entry in (first_run / CHECKPOINT, first_run):
        load(checkpoint_files=[entry])
        cube, _ = make_apps(counter)
        assert cube(9).result(timeout=30) == 729
        plait.clear()
    assert counter.total == 1


def test_no_checkpoints_yet(run_dir: Path) -> None:
    assert plait.get_all_checkpoints(str(run_dir)) == []
    assert plait.get_last_checkpoint(str(run_dir)) == []


def test_unpicklable_result_stays_memoized_in_memory(load: Any, counter: Any) -> None:
    import threading

    kernel = load(checkpoint_mode="task_exit")

    @python_app(cache=True)
    def make_lock(name: str) -> Any:
        counter.hit(name)
        return threading.Lock()

    first = make_lock("a").result(timeout=30)
    assert make_lock("a").result(timeout=30) is first
    assert counter["a"] == 1
    assert not checkpoint_file(kernel).exists() or records(checkpoint_file(kernel)) == []


def write_valid_checkpoint(load: Any, counter: Any) -> Path:
    kernel = load(checkpoint_mode="task_exit")
    cube, _ = make_apps(counter)
    cube(1).result(timeout=30)
    cube(2).result(timeout=30)
    plait.clear()
    return checkpoint_file(kernel)


@pytest.mark.parametrize(
    "content",
    [b"this is not a pickle", b"\x80\x04\x95garbage", pickle.dumps(["not", "a", "record"])],
    ids=["text", "bad-pickle", "wrong-record"],
)
def test_corrupt_checkpoint_raises_at_load(run_dir: Path, tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        plait.load(plait.Config(run_dir=str(run_dir), checkpoint_files=[str(bad)]))
    assert info.value.code == "PLT-301"
    assert str(bad) in str(info.value) and "PLT-301" in str(info.value)
    assert info.value.hint
    with pytest.raises(plait.errors.NoDataFlowKernelError):
        plait.dfk()


def test_truncated_checkpoint_raises_at_load(
    load: Any, counter: Any, tmp_path: Path, run_dir: Path
) -> None:
    good = write_valid_checkpoint(load, counter)
    data = good.read_bytes()
    first_len = len(pickle.dumps(records(good)[0]))
    for cut in (1, 2, first_len // 2, first_len + 2, len(data) - 1):
        bad = tmp_path / f"cut{cut}.pkl"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            plait.load(plait.Config(run_dir=str(run_dir), checkpoint_files=[str(bad)]))


def test_missing_checkpoint_file_raises(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        plait.load(
            plait.Config(run_dir=str(run_dir), checkpoint_files=[str(tmp_path / "nope.pkl")])
        )


def test_bad_checkpoint_mode_rejected() -> None:
    with pytest.raises(plait.errors.ConfigError, match="checkpoint_mode"):
        plait.Config(checkpoint_mode="sometimes")
