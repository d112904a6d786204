"""The dataflow kernel: task table, dispatcher thread, dependencies, retries,
memoization and checkpoints."""

from plait.kernel.checkpoint import get_all_checkpoints, get_last_checkpoint
from plait.kernel.dfk import DataFlowKernel
from plait.kernel.events import TaskEvent, TaskState
from plait.kernel.memo import id_for_memo

__all__ = [
    "DataFlowKernel",
    "TaskEvent",
    "TaskState",
    "get_all_checkpoints",
    "get_last_checkpoint",
    "id_for_memo",
]
