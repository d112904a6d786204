"""Block scaling with real local blocks: blocks start when work arrives, idle blocks go
away, failed blocks are replaced, and a failing provider becomes an executor error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

import plait
from plait.conformance.base import wait_until
from plait.conformance.tasks import add, wait_for_file
from plait.errors import BlockFailureError
from plait_htex import HighThroughputExecutor
from plait_local import LocalProvider

cloudpickle.register_pickle_by_value(sys.modules[__name__])
pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")

TIMEOUT = 60.0


class RefusingProvider(LocalProvider):
    """A provider whose submit command fails, as sbatch does for a bad partition."""

    def submit(self, command: str, tasks_per_node: int, job_name: str = "plait.block") -> str:
        raise RuntimeError("sbatch: error: invalid partition specified: nosuch")


def kernel(
    tmp_path: Path, provider: Any, strategy: str = "simple", retries: int = 0, **options: Any
) -> Any:
    htex = HighThroughputExecutor(
        label="htex", provider=provider, max_workers_per_node=1, **options
    )
    return plait.load(
        plait.Config(
            executors=[htex],
            run_dir=str(tmp_path / "runinfo"),
            strategy=strategy,
            strategy_period=0.1,
            max_idletime=0.5,
            retries=retries,
            error_reporters=[],
        )
    )


def live_blocks(dfk: plait.DataFlowKernel) -> list[str]:
    executor = dfk.executors["htex"]
    assert isinstance(executor, HighThroughputExecutor)
    return [b.block_id for b in executor.scaling_load().blocks]


def test_blocks_start_when_work_arrives_and_go_away_when_idle(tmp_path: Path) -> None:
    provider = LocalProvider(init_blocks=0, min_blocks=0, max_blocks=2)
    gate = tmp_path / "gate"
    with kernel(tmp_path, provider) as dfk:
        assert live_blocks(dfk) == []
        futures = [plait.python_app(wait_for_file)(str(gate), i) for i in range(4)]
        # one worker per block, four waiting tasks: the strategy asks for max_blocks
        assert wait_until(lambda: len(live_blocks(dfk)) == 2, TIMEOUT), live_blocks(dfk)
        executor = dfk.executors["htex"]
        assert isinstance(executor, HighThroughputExecutor)
        assert wait_until(lambda: len(executor.connected_managers()) == 2, TIMEOUT)
        gate.touch()
        assert [f.result(TIMEOUT) for f in futures] == [0, 1, 2, 3]
        assert wait_until(lambda: live_blocks(dfk) == [], TIMEOUT), "idle blocks stayed"
        # and they come back for new work
        assert plait.python_app(add)(2, 3).result(TIMEOUT) == 5


def test_strategy_none_keeps_init_blocks(tmp_path: Path) -> None:
    provider = LocalProvider(init_blocks=1, min_blocks=0, max_blocks=3)
    gate = tmp_path / "gate"
    with kernel(tmp_path, provider, strategy="none") as dfk:
        futures = [plait.python_app(wait_for_file)(str(gate), i) for i in range(3)]
        assert plait.python_app(add)(0, 0).done() is False
        assert not wait_until(lambda: len(live_blocks(dfk)) > 1, 1.0)
        gate.touch()
        assert [f.result(TIMEOUT) for f in futures] == [0, 1, 2]
        assert len(live_blocks(dfk)) == 1


def test_failed_block_is_replaced(tmp_path: Path) -> None:
    provider = LocalProvider(init_blocks=1, min_blocks=0, max_blocks=1)
    # a task sent before the interchange knows the block is gone fails and is retried
    with kernel(tmp_path, provider, retries=1) as dfk:
        executor = dfk.executors["htex"]
        assert isinstance(executor, HighThroughputExecutor)
        assert plait.python_app(add)(1, 1).result(TIMEOUT) == 2
        [first] = live_blocks(dfk)
        [record] = executor._blocks.live() if executor._blocks else []
        provider.cancel([record.job_id])
        assert plait.python_app(add)(2, 2).result(TIMEOUT) == 4
        assert live_blocks(dfk) != [first]


def test_failing_provider_command_is_an_executor_error(tmp_path: Path) -> None:
    provider = RefusingProvider(init_blocks=1, max_blocks=1)
    with kernel(tmp_path, provider, max_block_failures=2):
        error = plait.python_app(add)(1, 2).exception(TIMEOUT)
    assert isinstance(error, BlockFailureError), error
    assert "invalid partition specified: nosuch" in str(error)
    assert "RefusingProvider" in str(error)


def test_parallelism_asks_for_a_fraction_of_the_blocks(tmp_path: Path) -> None:
    provider = LocalProvider(init_blocks=0, min_blocks=0, max_blocks=4, parallelism=0.5)
    gate = tmp_path / "gate"
    with kernel(tmp_path, provider) as dfk:
        futures = [plait.python_app(wait_for_file)(str(gate), i) for i in range(4)]
        # four waiting tasks, one worker per block: half of four blocks
        assert wait_until(lambda: len(live_blocks(dfk)) == 2, TIMEOUT), live_blocks(dfk)
        assert not wait_until(lambda: len(live_blocks(dfk)) > 2, 1.0), live_blocks(dfk)
        gate.touch()
        assert [f.result(TIMEOUT) for f in futures] == [0, 1, 2, 3]
