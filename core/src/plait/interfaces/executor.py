"""The executor interface (``interface-specs/executor.md``)."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from plait.interfaces.component import Component
from plait.interfaces.provider import ExecutionProvider
from plait.interfaces.types import Capacity, TaskDescription
from plait.scaling.strategy import ExecutorLoad


class Executor(Component, abc.ABC):
    """Runs tasks and reports each one's outcome through a future.

    Lifecycle (EXE-001): constructed from configuration, ``start`` once, ``submit`` any
    number of times from the kernel's dispatcher thread, ``shutdown`` once. ``submit``
    returns at once (EXE-002) with a future that is completed exactly once, with the
    function's return value or the exception it raised (EXE-003); its done callbacks
    may run on any thread. ``shutdown`` releases every thread and process the executor
    started (EXE-004). ``capacity`` (optional, EXE-008) tells the kernel's
    ``least-loaded`` policy how many tasks the executor runs at once.

    Capabilities: ``cancel`` (``cancel`` can stop a launched task, EXE-101),
    ``resource_spec`` (honours :class:`~plait.interfaces.ResourceSpecification`, EXE-102),
    ``scaling`` (a :class:`ScalingExecutor`, EXE-103).
    """

    label: str
    staging: Sequence[Any] = ()
    """The stagers that move its tasks' files: names, tables or
    :class:`~plait.interfaces.Stager` instances (empty: every installed stager). Set by
    an executor table's ``staging`` key, or as an attribute before the kernel starts."""
    working_dir: str | None = None
    """Where its tasks' staged files go, as its workers see the file system (None: the
    worker's temporary directory for ``task``-mode stagers, ``<run_dir>/staging`` for
    ``separate`` ones). Set by an executor table's ``working_dir`` key."""

    @property
    def runs_mpi(self) -> bool:
        """True when this executor, as configured, runs MPI tasks (``mpi_app``, or a
        resource specification with ``num_nodes``/``num_ranks``): it gives each one its
        nodes and a :class:`plait.apps.mpi.MpiPlacement` while it runs. The kernel sends
        MPI tasks only to such executors."""
        return False

    def start(self, run_dir: Path) -> None:
        """Acquire resources; ``run_dir`` is this run's directory for logs (EXE-001)."""

    @abc.abstractmethod
    def submit(
        self,
        task: TaskDescription,
        func: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> Future[Any]:
        """Schedule ``func(*args, **kwargs)``; never block on the task (EXE-002)."""

    def capacity(self) -> Capacity | None:
        """How many tasks this executor runs at once now, and how many more slots it may
        still add by scaling; None (the default) when it cannot tell (EXE-008).

        Called by the kernel's ``least-loaded`` policy from the dispatcher thread, at most
        a few times a second, between ``start`` and ``shutdown``: answer from what the
        executor already knows, without a remote call, and never raise. Running and
        queued tasks are not subtracted (the kernel counts the tasks it handed over).
        """
        return None

    def cancel(self, future: Future[Any]) -> bool:
        """Try to stop a task submitted here; True if it will not complete (EXE-101).

        Only called when the class declares the ``cancel`` capability.
        """
        return False

    @abc.abstractmethod
    def shutdown(self, wait: bool = True) -> None:
        """Release everything; with ``wait`` first let submitted tasks finish (EXE-004)."""


class ScalingExecutor(Executor):
    """An executor whose workers run in blocks from an execution provider (capability
    ``scaling``, EXE-103).

    The kernel's scaling loop (:class:`plait.scaling.ScalingLoop`) calls these four
    methods from its own thread, never concurrently with each other; the executor
    starts its ``init_blocks`` itself in ``start``.
    """

    provider: ExecutionProvider

    @abc.abstractmethod
    def poll_blocks(self) -> None:
        """Read the provider's block states; fail or retry the tasks of blocks that
        ended, and count block failures (:class:`plait.scaling.BlockSet`)."""

    @abc.abstractmethod
    def scaling_load(self) -> ExecutorLoad:
        """A snapshot of outstanding tasks and live blocks for the strategy."""

    @abc.abstractmethod
    def scale_out(self, blocks: int) -> list[str]:
        """Start ``blocks`` more blocks; return their ids."""

    @abc.abstractmethod
    def scale_in(self, block_ids: Sequence[str]) -> list[str]:
        """Stop the named blocks once no task runs on them; return the ids stopped."""
