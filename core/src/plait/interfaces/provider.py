"""The execution provider interface (``interface-specs/provider.md``)."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from plait.interfaces.component import Component
from plait.interfaces.types import JobStatus


class ExecutionProvider(Component, abc.ABC):
    """Obtains blocks of compute (batch jobs, local process groups) for executors.

    ``submit`` starts one block running ``command`` and returns its job id; ``status``
    reports a :class:`~plait.interfaces.JobStatus` per id in the same order; ``cancel``
    stops blocks and returns one bool per id.
    """

    label: str
    init_blocks: int = 1
    min_blocks: int = 0
    max_blocks: int = 1
    nodes_per_block: int = 1
    status_polling_interval: float = 5.0

    @abc.abstractmethod
    def submit(self, command: str, tasks_per_node: int, job_name: str = "plait.block") -> str:
        """Start a block running ``command``; return the job id."""

    @abc.abstractmethod
    def status(self, job_ids: Sequence[str]) -> list[JobStatus]:
        """Report the state of each job, in order."""

    @abc.abstractmethod
    def cancel(self, job_ids: Sequence[str]) -> list[bool]:
        """Stop each job; True for each one that was stopped."""
