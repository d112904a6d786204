"""The blocks one executor obtained from its provider, and its block-failure budget.

A :class:`BlockSet` names blocks with its own ids (``"0"``, ``"1"``, ...) that the
launch command carries to the worker pools, maps them to the provider's job ids, polls
their states, cancels them, and counts failures: a block that ends without being asked
to (``FAILED``, ``TIMEOUT``, ``CANCELLED`` by someone else, ``MISSING``), or a provider
``submit`` that raises, is one failure; a worker pool of any block registering with the
executor (:meth:`plait.scaling.BlockSet.mark_connected`) resets the count.
``max_failures`` failures in a row make the executor fail for good with a
:class:`~plait.errors.BlockFailureError` that carries the last block's own stderr,
instead of replacing blocks forever.

Every method may be called from any thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from plait.errors import BlockFailureError, PlaitError
from plait.interfaces.provider import ExecutionProvider
from plait.interfaces.types import JobState, JobStatus

logger = logging.getLogger(__name__)

STDERR_LINES = 20
"""How many of a failed block's last stderr lines an error quotes."""


@attrs.define(eq=False)
class BlockRecord:
    """One block: our id, the provider's job id and the last status read."""

    block_id: str
    job_id: str
    started: float = attrs.field(factory=time.monotonic)
    status: JobStatus = attrs.field(factory=lambda: JobStatus(JobState.PENDING))
    asked_to_end: bool = False
    """True once the executor cancelled the block (scale-in or shutdown)."""
    connected: bool = False
    """True once a worker pool of this block registered with the executor."""

    @property
    def ended(self) -> bool:
        """True once the block is in a terminal state."""
        return self.status.state.terminal

    @property
    def failed(self) -> bool:
        """True when the block ended without the executor asking it to, other than by
        completing."""
        return self.ended and not self.asked_to_end and self.status.state is not JobState.COMPLETED


def stderr_tail(path: str | None, lines: int = STDERR_LINES) -> str:
    """The last ``lines`` lines of the file at ``path`` ('' when there is none)."""
    if not path:
        return ""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def describe(record: BlockRecord, label: str) -> str:
    """One paragraph on how a block ended: job id, state, exit code, message, stderr."""
    status = record.status
    text = f"block {record.block_id} (job {record.job_id}) of executor {label!r} ended "
    text += status.state.name
    if status.exit_code is not None:
        text += f" with exit code {status.exit_code}"
    if status.message:
        text += f": {status.message}"
    tail = stderr_tail(status.stderr_path)
    if tail:
        text += f"\n  last lines of its stderr ({status.stderr_path}):\n    "
        text += tail.replace("\n", "\n    ")
    elif status.stderr_path:
        text += f" (stderr: {status.stderr_path}, empty)"
    return text


class BlockSet:
    """Submits, polls and cancels an executor's blocks through its provider."""

    def __init__(
        self,
        provider: ExecutionProvider,
        label: str,
        launch_command: Callable[[str], str],
        tasks_per_node: int,
        max_failures: int,
        on_failure: Callable[[BlockFailureError], None],
    ) -> None:
        self.provider = provider
        self.label = label
        self._launch_command = launch_command
        self._tasks_per_node = tasks_per_node
        self._max_failures = max_failures
        self._on_failure = on_failure
        self._lock = threading.Lock()
        self._records: dict[str, BlockRecord] = {}
        self._next_id = 0
        self._failures = 0
        self._failed_for_good = False
        self._last_failure = ""

    # --- queries ---------------------------------------------------------------------

    def live(self) -> list[BlockRecord]:
        """The blocks that have not ended, oldest first."""
        with self._lock:
            return [r for r in self._records.values() if not r.ended]

    def get(self, block_id: str) -> BlockRecord | None:
        """The record of block ``block_id``, if this set started it."""
        with self._lock:
            return self._records.get(block_id)

    @property
    def failed_for_good(self) -> bool:
        """True once the failure budget is spent."""
        return self._failed_for_good

    # --- changes ----------------------------------------------------------------------

    def scale_out(self, count: int) -> list[str]:
        """Submit ``count`` blocks; return the ids of those the provider accepted."""
        started: list[str] = []
        for _ in range(count):
            if self._failed_for_good:
                break
            with self._lock:
                block_id = str(self._next_id)
                self._next_id += 1
            command = self._launch_command(block_id)
            try:
                job_id = self.provider.submit(
                    command, self._tasks_per_node, job_name=f"plait.{self.label}.block-{block_id}"
                )
            except Exception as exc:  # the provider's own command failed
                text = (
                    exc.message if isinstance(exc, PlaitError) else f"{type(exc).__name__}: {exc}"
                )
                self._count_failure(
                    f"the provider {type(self.provider).__name__} could not start block "
                    f"{block_id} of executor {self.label!r}: {text}"
                )
                continue
            with self._lock:
                self._records[block_id] = BlockRecord(block_id, job_id)
            logger.info("%s: started block %s (job %s)", self.label, block_id, job_id)
            started.append(block_id)
        return started

    def scale_in(self, block_ids: Sequence[str]) -> list[str]:
        """Cancel the named live blocks; return the ids the provider stopped."""
        with self._lock:
            records = [self._records[b] for b in block_ids if b in self._records]
            records = [r for r in records if not r.ended]
            for record in records:
                record.asked_to_end = True
        if not records:
            return []
        stopped = self.provider.cancel([r.job_id for r in records])
        self.poll()
        return [r.block_id for r, ok in zip(records, stopped, strict=True) if ok]

    def cancel_all(self) -> None:
        """Cancel every live block (at shutdown)."""
        self.scale_in([r.block_id for r in self.live()])

    def mark_connected(self, block_id: str) -> None:
        """A worker pool of ``block_id`` registered: the block works, reset the count."""
        with self._lock:
            record = self._records.get(block_id)
            if record is not None:
                record.connected = True
            self._failures = 0

    def poll(self) -> list[BlockRecord]:
        """Read the state of every live block; return the blocks that ended since the
        last poll. Failed ones count against the budget."""
        live = self.live()
        if not live:
            return []
        statuses = self.provider.status([r.job_id for r in live])
        ended: list[BlockRecord] = []
        with self._lock:
            for record, status in zip(live, statuses, strict=True):
                if record.ended:
                    continue
                record.status = status
                if record.ended:
                    ended.append(record)
        for record in ended:
            if record.failed:
                self._count_failure(describe(record, self.label))
            else:
                logger.info(
                    "%s: block %s ended %s", self.label, record.block_id, record.status.state.name
                )
        return ended

    def _count_failure(self, text: str) -> None:
        logger.warning("%s", text)
        with self._lock:
            self._failures += 1
            self._last_failure = text
            spent = self._failures >= self._max_failures and not self._failed_for_good
            if spent:
                self._failed_for_good = True
        if spent:
            self._on_failure(
                BlockFailureError(
                    f"{self._max_failures} blocks of executor {self.label!r} failed in a row; "
                    f"the last one: {text}",
                    executor=self.label,
                )
            )
