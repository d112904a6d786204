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
    stops blocks and returns one bool per id. The contract is
    ``interface-specs/provider.md``; the ids below are its requirements.

    Construction only validates options (PRV-001): the constructor takes the common
    options below as keywords and raises :class:`~plait.errors.ConfigError` naming a bad
    one; the instance keeps them as attributes (PRV-002). ``capabilities`` may hold
    ``walltime`` (PRV-101: a ``walltime`` option the provider enforces) and
    ``std_streams`` (PRV-102: ``stdout_path``/``stderr_path`` in the status of an ended
    block) (PRV-003). The block counts are read by the scaling strategy; the provider
    never submits blocks by itself. ``submit``, ``status`` and ``cancel`` may be called
    concurrently from several threads (PRV-010). Once every block has ended, no thread or
    child process the provider started is alive (PRV-011).
    """

    label: str
    init_blocks: int = 1
    min_blocks: int = 0
    max_blocks: int = 1
    nodes_per_block: int = 1
    parallelism: float = 1.0
    """How many blocks the scaling strategy asks for, as a fraction of the blocks the
    outstanding tasks would fill: 1 (a slot per task), 0.5 (half), 0 (``min_blocks``)."""
    status_polling_interval: float = 5.0
    script_dir: str | None = None
    """Directory for submit scripts and block output, set by the owning executor before
    the first ``submit``; with it set nothing is written elsewhere (PRV-013). ``None``:
    the provider's choice (a temporary directory)."""

    @abc.abstractmethod
    def submit(self, command: str, tasks_per_node: int, job_name: str = "plait.block") -> str:
        """Start a block running ``command`` with bash; return the job id.

        Returns without waiting for the block to end; the id is a non-empty str without
        surrounding whitespace, new for this instance (PRV-004). ``max_blocks`` is not
        enforced here. A provider with a launcher runs
        ``launcher(command, tasks_per_node, nodes_per_block)`` instead of ``command``.
        """

    @abc.abstractmethod
    def status(self, job_ids: Sequence[str]) -> list[JobStatus]:
        """Report the state of each job, in order.

        One status per id, ``MISSING`` for ids the provider does not know, never raising
        for them (PRV-005); ``PENDING``/``HELD`` -> ``RUNNING`` -> ``COMPLETED`` on exit
        status 0, with terminal states final (PRV-006); ``FAILED`` on a non-zero exit
        status (PRV-007), with ``exit_code`` set (PRV-008).
        """

    @abc.abstractmethod
    def cancel(self, job_ids: Sequence[str]) -> list[bool]:
        """Stop each job; True for each one that was stopped.

        A stopped block ends ``CANCELLED`` with every one of its processes, children and
        grandchildren included; unknown or already ended ids give False and keep their
        state (PRV-009).
        """
