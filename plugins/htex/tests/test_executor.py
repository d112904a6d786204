"""plait-htex features users rely on: priorities, workers per node, drain period,
encryption that admits only the run's keys, shutdown that never hangs, start-up."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
import zmq

import plait
from plait.conformance.base import child_pids, leftovers, wait_until
from plait.conformance.tasks import add, wait_for_file
from plait.interfaces import Capacity, JobState, TaskDescription
from plait_htex import HighThroughputExecutor, protocol
from plait_htex.manager import worker_count

cloudpickle.register_pickle_by_value(sys.modules[__name__])
pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")

TIMEOUT = 60.0


def record(path: str, value: int, resource_specification: Any = None) -> int:
    with open(path, "a") as file:
        file.write(f"{value}\n")
    return value


def ignore_sigterm_and_sleep(seconds: float) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(seconds)


def config(tmp_path: Path, **options: Any) -> plait.Config:
    htex: dict[str, Any] = {"kind": "htex", "label": "htex", "serializers": ["cloudpickle"]}
    kernel = {k: options.pop(k) for k in ("strategy_period", "exit_mode") if k in options}
    return plait.Config(
        executors=[{**htex, **options}],
        run_dir=str(tmp_path / "runinfo"),
        error_reporters=[],
        **kernel,
    )


def executor_of(dfk: plait.DataFlowKernel) -> HighThroughputExecutor:
    executor = dfk.executors["htex"]
    assert isinstance(executor, HighThroughputExecutor)
    return executor


def test_queued_tasks_run_lowest_priority_value_first(tmp_path: Path) -> None:
    gate, order = tmp_path / "gate", tmp_path / "order"
    with plait.load(config(tmp_path, max_workers_per_node=1)) as dfk:
        blocker = plait.python_app(wait_for_file)(str(gate), "blocker")
        executor = executor_of(dfk)
        assert wait_until(lambda: executor.scaling_load().blocks[0].tasks == 1, TIMEOUT)
        app = plait.python_app(record)
        futures = [app(str(order), p, resource_specification={"priority": p}) for p in (5, 1, 3, 2)]
        assert wait_until(lambda: executor.connected_managers()[0]["tasks"] == 1, TIMEOUT)
        gate.touch()
        assert blocker.result(TIMEOUT) == "blocker"
        assert [f.result(TIMEOUT) for f in futures] == [5, 1, 3, 2]
    assert order.read_text().split() == ["1", "2", "3", "5"]


@pytest.mark.parametrize(
    ("options", "workers"),
    [
        ({"max_workers_per_node": 3, "cores_per_worker": 0.1}, 3),
        ({"max_workers_per_node": 64}, len(os.sched_getaffinity(0))),
        ({"cores_per_worker": 1000.0}, 1),
        ({"mem_per_worker": 1e12}, 1),
    ],
)
def test_workers_per_node_follow_the_limits(
    tmp_path: Path, options: dict[str, Any], workers: int
) -> None:
    with plait.load(config(tmp_path, **options)) as dfk:
        assert plait.python_app(add)(1, 2).result(TIMEOUT) == 3
        [manager] = executor_of(dfk).connected_managers()
        assert manager["workers"] == workers


def test_worker_count_takes_the_tightest_limit() -> None:
    cores = len(os.sched_getaffinity(0))
    assert worker_count(None, 1.0, None) == cores
    assert worker_count(1, 1.0, None) == 1
    assert worker_count(None, 0.5, None) == 2 * cores
    assert worker_count(64, 1.0, 1e12) == 1


def test_drain_period_ends_the_block_and_a_new_one_takes_over(tmp_path: Path) -> None:
    options = {"drain_period": 1.0, "max_workers_per_node": 1, "strategy_period": 0.1}
    with plait.load(config(tmp_path, **options)) as dfk:
        executor = executor_of(dfk)
        assert plait.python_app(add)(1, 1).result(TIMEOUT) == 2
        first = executor._blocks.get("0") if executor._blocks else None
        assert first is not None

        def drained() -> bool:
            executor.poll_blocks()
            return first.status.state is JobState.COMPLETED

        assert wait_until(drained, TIMEOUT), first.status
        assert plait.python_app(add)(2, 2).result(TIMEOUT) == 4


def test_encrypted_interchange_refuses_a_client_without_the_run_keys(tmp_path: Path) -> None:
    with plait.load(config(tmp_path, encrypted=True, max_workers_per_node=1)) as dfk:
        executor = executor_of(dfk)
        assert plait.python_app(add)(1, 2).result(TIMEOUT) == 3
        keys = tmp_path / "runinfo" / "000" / "htex" / "htex" / "curve"
        assert (keys / "client.key_secret").stat().st_mode & 0o077 == 0
        context = zmq.Context()
        intruder = context.socket(zmq.DEALER)
        intruder.setsockopt(zmq.LINGER, 0)
        intruder.connect(f"tcp://127.0.0.1:{executor._port}")
        info = {"block": "intruder", "host": "x", "pid": 1, "workers": 9}
        intruder.send_multipart([protocol.REGISTER, protocol.pack(info)])
        assert not intruder.poll(1000), "the interchange answered a client without keys"
        assert [m["block"] for m in executor.connected_managers()] == ["0"]
        intruder.close()
        context.term()


def test_shutdown_never_hangs_on_a_task_that_ignores_sigterm(tmp_path: Path) -> None:
    threads, pids = set(threading.enumerate()), child_pids()
    with plait.load(config(tmp_path, exit_mode="cleanup", max_workers_per_node=1)) as dfk:
        stubborn = plait.python_app(ignore_sigterm_and_sleep)(3600)
        executor = executor_of(dfk)
        assert wait_until(lambda: executor.scaling_load().blocks[0].tasks == 1, TIMEOUT)
        started = time.monotonic()
    assert time.monotonic() - started < 15, "shutdown waited for the stubborn task"
    assert stubborn.done()
    assert leftovers(threads, pids) == [], "shutdown left threads or processes"


def test_first_result_comes_quickly(tmp_path: Path) -> None:
    """Not a timing benchmark (bench/peers.py is): a generous bound that catches a
    start-up that waits on a timeout instead of on events."""
    started = time.monotonic()
    with plait.load(config(tmp_path, max_workers_per_node=1)):
        assert plait.python_app(add)(1, 2).result(TIMEOUT) == 3
        assert time.monotonic() - started < 10


def make_adder(n: int) -> Any:
    return lambda x: x + n


def test_an_app_may_name_its_own_serializers(tmp_path: Path) -> None:
    """The executor carries only plain pickle; one app's function and result need
    cloudpickle (a closure), and name it."""
    options = {"serializers": ["pickle"], "max_workers_per_node": 1}
    with plait.load(config(tmp_path, **options)):
        plain = plait.python_app(make_adder)(1).exception(TIMEOUT)
        assert isinstance(plain, plait.errors.SerializationError), plain
        assert "return value" in str(plain) and "pickle" in str(plain)
        adder = plait.python_app(serializers=["cloudpickle"])(make_adder)(2).result(TIMEOUT)
        assert adder(40) == 42


def test_interchange_counts_the_task_bytes_it_receives(tmp_path: Path) -> None:
    with plait.load(config(tmp_path, max_workers_per_node=1)) as dfk:
        executor = executor_of(dfk)
        before = executor.interchange_stats()["task_bytes"]
        payload = b"\x07" * 1_000_000
        assert plait.python_app(len)(payload).result(TIMEOUT) == len(payload)
        moved = executor.interchange_stats()["task_bytes"] - before
        assert len(payload) <= moved < len(payload) + 10_000


def test_capacity_counts_connected_workers_and_the_blocks_still_possible(tmp_path: Path) -> None:
    executor = HighThroughputExecutor(
        label="htex",
        max_workers_per_node=2,
        provider={"kind": "local", "init_blocks": 1, "max_blocks": 3},
        serializers=["cloudpickle"],
    )
    assert executor.capacity() == Capacity(0, 0), "not started"
    executor.start(tmp_path)
    try:
        first = executor.capacity()  # the block may be pending or connected: 3 x 2 either way
        assert first.slots + first.possible == 6, first
        assert executor.submit(TaskDescription(0, "t"), add, (1, 2), {}).result(TIMEOUT) == 3
        assert wait_until(lambda: executor.capacity() == Capacity(2, 4), TIMEOUT), (
            executor.capacity()
        )
        assert len(executor.scale_out(1)) == 1
        second = executor.capacity()  # the new block: pending (possible) or connected
        assert second.slots + second.possible == 6 and second.slots >= 2, second
        assert wait_until(lambda: executor.capacity() == Capacity(4, 2), TIMEOUT), (
            executor.capacity()
        )
    finally:
        executor.shutdown()
    assert executor.capacity() == Capacity(0, 0), "shut down"
