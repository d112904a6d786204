"""Block scaling: strategies, the blocks of one executor, and the kernel's loop."""

from plait.scaling.blocks import BlockRecord, BlockSet
from plait.scaling.loop import ScalingLoop
from plait.scaling.strategy import STRATEGIES, BlockLoad, Decision, ExecutorLoad, decide

__all__ = [
    "STRATEGIES",
    "BlockLoad",
    "BlockRecord",
    "BlockSet",
    "Decision",
    "ExecutorLoad",
    "ScalingLoop",
    "decide",
]
