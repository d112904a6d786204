"""The user-facing API of DESIGN section 2: ``load`` (with no argument, a Config or a
TOML file), ``dfk``, ``clear``, the decorators and their options, futures that are
``concurrent.futures.Future`` objects."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import bash_app, join_app, python_app
from plait_threads import ThreadPoolExecutor


@python_app
def double(x: int) -> int:
    return 2 * x


def test_load_without_config_gives_working_local_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with plait.load() as kernel:
        assert sum(f.result(timeout=30) for f in [double(i) for i in range(10)]) == 90
        assert list(kernel.executors)
        assert Path(kernel.run_dir) == tmp_path / "runinfo" / "000"
    assert (tmp_path / "runinfo" / "000" / "plait.log").exists()


def test_run_dir_is_absolute_and_survives_chdir(
    load: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative run_dir is resolved at load: a later chdir does not move the logs."""
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)

    @python_app(cache=True)
    def cached(x: int) -> int:
        return x

    kernel = load(run_dir="relative-runs", checkpoint_mode="dfk_exit")
    assert Path(kernel.run_dir) == tmp_path / "relative-runs" / "000"
    assert cached(1).result(timeout=30) == 1
    monkeypatch.chdir(tmp_path / "elsewhere")
    plait.clear()
    assert plait.get_last_checkpoint(str(tmp_path / "relative-runs"))
    assert not (tmp_path / "elsewhere" / "relative-runs").exists()


def test_load_from_toml_file(tmp_path: Path, counter: Any) -> None:
    config_file = tmp_path / "plait.toml"
    run_dir = tmp_path / "from-toml"
    config_file.write_text(
        f'run_dir = "{run_dir}"\nretries = 1\n\n'
        '[[executors]]\nkind = "threads"\nlabel = "pool"\nmax_threads = 3\n'
    )

    @python_app
    def flaky() -> str:
        if counter.hit() == 1:
            raise RuntimeError("first try")
        return "second try"

    with plait.load(config_file) as kernel:
        assert list(kernel.executors) == ["pool"]
        assert kernel.config.retries == 1
        assert flaky().result(timeout=30) == "second try"
    assert (run_dir / "000").is_dir()


def test_config_from_dict_builds_executors(tmp_path: Path) -> None:
    config = plait.Config.from_dict(
        {"run_dir": str(tmp_path), "executors": [{"kind": "threads", "label": "t"}]}
    )
    assert [e.label for e in config.executors] == ["t"]
    assert isinstance(config.executors[0], ThreadPoolExecutor)


def test_dfk_and_clear(load: Any) -> None:
    kernel = load()
    assert plait.dfk() is kernel
    plait.clear()
    with pytest.raises(plait.errors.NoDataFlowKernelError):
        plait.dfk()
    plait.clear()  # clearing nothing is fine


def test_futures_are_standard_futures(dfk: plait.DataFlowKernel) -> None:
    futures = [double(i) for i in range(20)]
    assert all(isinstance(f, concurrent.futures.Future) for f in futures)
    assert all(isinstance(f, plait.AppFuture) for f in futures)
    _done, not_done = concurrent.futures.wait(futures, timeout=30)
    assert not not_done
    assert sorted(f.result() for f in concurrent.futures.as_completed(futures)) == [
        2 * i for i in range(20)
    ]
    assert [f.tid for f in futures] == sorted({f.tid for f in futures})
    assert all(f.task_name == "double" for f in futures)
    assert "double" in repr(futures[0])


def test_done_callbacks_run(dfk: plait.DataFlowKernel) -> None:
    seen = threading.Event()
    results: list[int] = []

    def callback(f: concurrent.futures.Future[int]) -> None:
        results.append(f.result())
        seen.set()

    double(21).add_done_callback(callback)
    assert seen.wait(30)
    assert results == [42]


def test_decorator_forms(dfk: plait.DataFlowKernel) -> None:
    @python_app()
    def empty_parens() -> str:
        return "a"

    @python_app(executors="all")
    def all_executors() -> str:
        return "b"

    @python_app(executors=["threads"])
    def named() -> str:
        return "c"

    assert [f().result(timeout=30) for f in (empty_parens, all_executors, named)] == [
        "a",
        "b",
        "c",
    ]
    assert empty_parens.__name__ == "empty_parens"
    assert "python_app" in repr(named) and "named" in repr(named)


def test_apps_run_where_configured(load: Any) -> None:
    load(
        executors=[
            ThreadPoolExecutor(label="left", thread_name_prefix="plait-left"),
            ThreadPoolExecutor(label="right", thread_name_prefix="plait-right"),
        ]
    )

    @python_app(executors=["left"])
    def where_left() -> str:
        return threading.current_thread().name

    @python_app(executors=["right"])
    def where_right() -> str:
        return threading.current_thread().name

    assert where_left().result(timeout=30).startswith("plait-left")
    assert where_right().result(timeout=30).startswith("plait-right")


def test_all_executors_are_used(load: Any) -> None:
    load(
        executors=[
            ThreadPoolExecutor(label="one", thread_name_prefix="plait-one"),
            ThreadPoolExecutor(label="two", thread_name_prefix="plait-two"),
        ]
    )

    @python_app
    def where() -> str:
        return threading.current_thread().name.split("_")[0]

    names = {where().result(timeout=30) for _ in range(10)}
    assert names == {"plait-one", "plait-two"}


def test_app_bound_to_a_kernel(load: Any) -> None:
    kernel = load()

    @python_app(data_flow_kernel=kernel)
    def bound(x: int) -> int:
        return x * 3

    assert bound(3).result(timeout=30) == 9


def test_resource_specification_walltime_alias(dfk: plait.DataFlowKernel) -> None:
    """``parsl_resource_specification`` is accepted; its walltime applies to any
    executor, while other keys need the ``resource_spec`` capability."""

    @python_app
    def busy(parsl_resource_specification: Any = None) -> None:
        while True:
            pass

    exc = busy(parsl_resource_specification={"walltime": 0.3}).exception(timeout=60)
    assert isinstance(exc, plait.errors.AppTimeout)


def test_wait_for_current_tasks_from_many_threads(dfk: plait.DataFlowKernel) -> None:
    futures: list[plait.AppFuture] = []
    lock = threading.Lock()

    def submit() -> None:
        for i in range(50):
            f = double(i)
            with lock:
                futures.append(f)
        plait.wait_for_current_tasks()

    threads = [threading.Thread(target=submit, name=f"test-{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(futures) == 200
    assert all(f.done() for f in futures)


def test_quickstart_shape(load: Any, tmp_path: Path) -> None:
    """The README workflow: a fan-out, a bash app writing a file, a join app, a chain."""
    load()

    @bash_app
    def write(text: str, outputs: Sequence[plait.File] = ()) -> str:
        return f"echo {text} > {outputs[0]}"

    @join_app
    def fan(n: int) -> list[plait.AppFuture]:
        return [double(i) for i in range(n)]

    @python_app
    def total(values: list[int], inputs: Sequence[plait.File] = ()) -> str:
        return f"{sum(values)} {Path(inputs[0].filepath).read_text().strip()}"

    written = write("hi", outputs=[plait.File(str(tmp_path / "hi.txt"))])
    assert total(fan(5), inputs=[written.outputs[0]]).result(timeout=30) == "20 hi"


def test_version_is_exposed() -> None:
    assert isinstance(plait.__version__, str) and plait.__version__


def test_error_reporters_may_be_instances_or_tables(load: Any) -> None:
    """A reporter given as an instance gets each final failure; a table builds one."""
    from plait.interfaces import ErrorContext, ErrorReporter

    class Recorder(ErrorReporter):
        def __init__(self) -> None:
            self.seen: list[tuple[str, int]] = []

        def report(self, error: BaseException, context: ErrorContext) -> None:
            self.seen.append((type(error).__name__, context.task_id))

    @python_app
    def fails() -> None:
        raise KeyError("k")

    recorder = Recorder()
    load(error_reporters=[recorder, {"kind": "console"}])
    future = fails()
    with pytest.raises(KeyError):
        future.result(timeout=30)
    plait.clear()
    assert recorder.seen == [("KeyError", future.tid)]
