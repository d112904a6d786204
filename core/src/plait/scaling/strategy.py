"""Scaling strategies: how many blocks an executor should have, decided from its load.

A strategy is a pure function of an :class:`ExecutorLoad` snapshot, so the decision is
easy to test and to explain; :class:`~plait.scaling.loop.ScalingLoop` takes the
snapshots and applies the decisions.

* ``none``: never scale; the executor keeps the ``init_blocks`` it started with.
* ``simple``: scale out while tasks wait for slots; scale in every block above
  ``min_blocks`` once the whole executor has been idle for ``max_idletime``.
* ``auto``: scale out like ``simple``; scale in each block that has been idle for
  ``max_idletime`` while the remaining blocks can hold the outstanding tasks.

Scale-out asks for ``ceil(outstanding * parallelism / slots_per_block)`` blocks in all,
between ``min_blocks`` and ``max_blocks``; blocks still pending in the scheduler count as
capacity, so a slow queue does not make the strategy ask again and again. A block that
failed is no longer counted, so it is replaced by the next decision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

STRATEGIES = ("none", "simple", "auto")
"""The strategy names ``Config.strategy`` accepts."""


@attrs.frozen
class BlockLoad:
    """One live block as the strategy sees it."""

    block_id: str
    tasks: int
    """Tasks on the block's worker pools now (0 while the block is pending)."""
    idle_for: float
    """Seconds since the block last had a task (since it started, if it never had)."""


@attrs.frozen
class ExecutorLoad:
    """A snapshot of one executor's work and blocks."""

    outstanding: int
    """Tasks submitted to the executor that have not finished (queued or running)."""
    slots_per_block: int
    """Tasks one block runs at once (workers per node times nodes per block)."""
    blocks: Sequence[BlockLoad]
    """The blocks that have not ended: pending in the scheduler or running."""
    min_blocks: int = 0
    max_blocks: int = 1
    parallelism: float = 1.0


@attrs.frozen
class Decision:
    """What to do: start ``scale_out`` new blocks, cancel the blocks in ``scale_in``."""

    scale_out: int = 0
    scale_in: tuple[str, ...] = ()


def blocks_wanted(load: ExecutorLoad) -> int:
    """The number of blocks the outstanding tasks call for, within the provider's
    ``min_blocks`` .. ``max_blocks``."""
    wanted = 0
    if load.outstanding > 0 and load.parallelism > 0:
        slots = max(1, load.slots_per_block)
        wanted = max(1, math.ceil(load.outstanding * load.parallelism / slots))
    return max(load.min_blocks, min(load.max_blocks, wanted))


def decide(strategy: str, load: ExecutorLoad, max_idletime: float) -> Decision:
    """The decision of ``strategy`` (one of :data:`plait.scaling.strategy.STRATEGIES`)
    for ``load``."""
    if strategy == "none":
        return Decision()
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown scaling strategy {strategy!r}")
    wanted = blocks_wanted(load)
    live = len(load.blocks)
    if wanted > live:
        return Decision(scale_out=wanted - live)
    idle = sorted(
        (b for b in load.blocks if b.tasks == 0 and b.idle_for >= max_idletime),
        key=lambda b: -b.idle_for,
    )
    if strategy == "simple":
        everything_idle = load.outstanding == 0 and len(idle) == live
        if not everything_idle:
            return Decision()
        spare = live - load.min_blocks
    else:
        spare = live - wanted
    return Decision(scale_in=tuple(b.block_id for b in idle[: max(0, spare)]))
