"""The scaling strategies as pure decisions on load snapshots."""

from __future__ import annotations

import pytest

import plait
from plait.errors import ConfigError
from plait.scaling import BlockLoad, Decision, ExecutorLoad, decide


def load(outstanding: int, *blocks: tuple[str, int, float], **limits: float) -> ExecutorLoad:
    return ExecutorLoad(
        outstanding=outstanding,
        slots_per_block=int(limits.pop("slots", 4)),
        blocks=[BlockLoad(*b) for b in blocks],
        min_blocks=int(limits.pop("min_blocks", 0)),
        max_blocks=int(limits.pop("max_blocks", 4)),
        parallelism=limits.pop("parallelism", 1.0),
    )


@pytest.mark.parametrize("strategy", ["simple", "auto"])
def test_scales_out_for_waiting_tasks_up_to_max_blocks(strategy: str) -> None:
    assert decide(strategy, load(10), 60) == Decision(scale_out=3)  # ceil(10 / 4)
    assert decide(strategy, load(100), 60) == Decision(scale_out=4)  # max_blocks
    # a pending block counts as capacity: no second request while the queue is slow
    assert decide(strategy, load(3, ("0", 0, 0.0)), 60) == Decision()


def test_parallelism_scales_the_request() -> None:
    assert decide("simple", load(16, parallelism=0.5), 60) == Decision(scale_out=2)
    assert decide("simple", load(16, parallelism=0.0), 60) == Decision()
    assert decide("simple", load(0, min_blocks=2), 60) == Decision(scale_out=2)


def test_simple_scales_in_only_when_everything_is_idle() -> None:
    busy_and_idle = load(2, ("0", 2, 0.0), ("1", 0, 500.0))
    assert decide("simple", busy_and_idle, 60) == Decision()
    all_idle = load(0, ("0", 0, 100.0), ("1", 0, 500.0))
    assert decide("simple", all_idle, 60) == Decision(scale_in=("1", "0"))
    assert decide("simple", load(0, ("0", 0, 10.0)), 60) == Decision(), "not idle long enough"
    keep_min = load(0, ("0", 0, 100.0), ("1", 0, 500.0), min_blocks=1)
    assert decide("simple", keep_min, 60) == Decision(scale_in=("1",))


def test_auto_scales_in_single_idle_blocks() -> None:
    busy_and_idle = load(2, ("0", 2, 0.0), ("1", 0, 500.0))
    assert decide("auto", busy_and_idle, 60) == Decision(scale_in=("1",))


def test_none_never_scales() -> None:
    assert decide("none", load(100), 60) == Decision()
    assert decide("none", load(0, ("0", 0, 1e6)), 60) == Decision()


def test_config_rejects_unknown_strategy() -> None:
    with pytest.raises(ConfigError, match="did you mean 'simple'"):
        plait.Config(strategy="simpel")
    with pytest.raises(ConfigError, match="walltime 'soon' is not a number"):
        plait.Config(strategy_period="soon")
    assert plait.Config(max_idletime=0).max_idletime == 0.0
