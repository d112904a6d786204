"""The thread pool executor on its own and through the kernel."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError, Future
from pathlib import Path
from typing import Any

import pytest

import plait
from plait.errors import ConfigError
from plait.interfaces import Capacity, TaskDescription
from plait_threads import ThreadPoolExecutor


def _task(i: int = 0) -> TaskDescription:
    return TaskDescription(i, "t")


def _raise(message: str) -> None:
    raise KeyError(message)


def test_runs_tasks_on_named_threads_and_releases_them(tmp_path: Path) -> None:
    executor = ThreadPoolExecutor(label="pool", max_threads=3)
    executor.start(tmp_path)
    futures = [
        executor.submit(_task(i), lambda x: (x * x, threading.current_thread().name), (i,), {})
        for i in range(20)
    ]
    results = [f.result(timeout=10) for f in futures]
    assert [r[0] for r in results] == [i * i for i in range(20)]
    assert all(r[1].startswith("plait-pool") for r in results)
    executor.shutdown(wait=True)
    assert not [t for t in threading.enumerate() if t.name.startswith("plait-pool")]


def test_exception_keeps_type_and_traceback(tmp_path: Path) -> None:
    executor = ThreadPoolExecutor()
    executor.start(tmp_path)
    future = executor.submit(_task(), _raise, ("lost key",), {})
    with pytest.raises(KeyError, match="lost key") as info:
        future.result(timeout=10)
    assert any(entry.name == "_raise" for entry in info.traceback)
    executor.shutdown()


def _occupy(executor: ThreadPoolExecutor) -> tuple[Future[Any], threading.Event]:
    """Submit a task that holds a pool thread until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def block() -> str:
        started.set()
        release.wait(10)
        return "ran"

    running = executor.submit(_task(0), block, (), {})
    assert started.wait(10)
    return running, release


def test_cancel_stops_a_queued_task_but_not_a_running_one(tmp_path: Path) -> None:
    executor = ThreadPoolExecutor(max_threads=1)
    executor.start(tmp_path)
    running, release = _occupy(executor)
    queued = executor.submit(_task(1), lambda: "queued ran", (), {})
    assert executor.cancel(queued) is True
    assert executor.cancel(running) is False
    release.set()
    assert running.result(timeout=10) == "ran"
    with pytest.raises(CancelledError):
        queued.result(timeout=10)
    executor.shutdown()


def test_submit_before_start_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        ThreadPoolExecutor().submit(_task(), print, (), {})


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_max_threads_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        ThreadPoolExecutor(max_threads=bad)  # type: ignore[arg-type]
    assert info.value.code == "PLT-110"
    assert "max_threads" in str(info.value)


def test_usable_by_name_from_plain_config(tmp_path: Path) -> None:
    config = plait.Config(
        executors=[{"kind": "threads", "label": "named", "max_threads": 2}],
        run_dir=str(tmp_path),
    )
    assert isinstance(config.executors[0], ThreadPoolExecutor)

    @plait.python_app
    def where() -> str:
        return threading.current_thread().name

    with plait.load(config):
        assert where().result(timeout=10).startswith("plait-named")


def test_unknown_option_is_reported_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"max_thread.*did you mean 'max_threads'"):
        plait.Config(executors=[{"kind": "threads", "max_thread": 2}])


def test_shutdown_cancels_queued_tasks_and_lets_running_ones_finish(tmp_path: Path) -> None:
    executor = ThreadPoolExecutor(label="closing", max_threads=1)
    executor.start(tmp_path)
    running, release = _occupy(executor)
    queued = [executor.submit(_task(i), lambda: "queued ran", (), {}) for i in range(1, 4)]
    closer = threading.Thread(target=executor.shutdown)
    closer.start()
    for future in queued:
        with pytest.raises(CancelledError):
            future.result(timeout=10)
    release.set()
    closer.join(10)
    assert running.result(timeout=0) == "ran"
    assert not [t for t in threading.enumerate() if t.name.startswith("plait-closing")]


def test_capacity_is_max_threads_while_started(tmp_path: Path) -> None:
    executor = ThreadPoolExecutor(label="pool", max_threads=3)
    assert executor.capacity() == Capacity(0)
    executor.start(tmp_path)
    assert executor.capacity() == Capacity(slots=3, possible=0)
    executor.shutdown(wait=True)
    assert executor.capacity() == Capacity(0, 0)
