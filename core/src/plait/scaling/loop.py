"""The kernel's scaling loop: one thread that keeps each scaling executor's blocks in
line with its load.

Every ``period`` seconds (and at once when :meth:`ScalingLoop.poke` is called) it asks
each executor that declares the ``scaling`` capability to poll its blocks
(:meth:`~plait.interfaces.ScalingExecutor.poll_blocks`: ended blocks are noticed, their
tasks failed or retried, failures counted), then takes a load snapshot, asks the
configured strategy (:func:`plait.scaling.strategy.decide`) and applies its decision.
The loop never touches task records: the executors fail tasks through their futures,
which reach the dispatcher as events like any other completion.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from plait.scaling.strategy import decide

if TYPE_CHECKING:  # plait.interfaces imports plait.scaling.strategy
    from plait.interfaces.executor import ScalingExecutor

logger = logging.getLogger(__name__)


class ScalingLoop:
    """Runs the strategy for ``executors`` on a thread of its own."""

    def __init__(
        self,
        executors: Sequence[ScalingExecutor],
        strategy: str,
        period: float,
        max_idletime: float,
    ) -> None:
        self.executors = list(executors)
        self.strategy = strategy
        self.period = period
        self.max_idletime = max_idletime
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="plait-scaling", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def poke(self) -> None:
        """Run a round now instead of at the end of the period."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread and wait for it (a round in progress finishes first)."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def run_once(self) -> None:
        """One round over every executor."""
        for executor in self.executors:
            if self._stopping:
                return
            try:
                executor.poll_blocks()
                load = executor.scaling_load()
                decision = decide(self.strategy, load, self.max_idletime)
                if decision.scale_out:
                    logger.info(
                        "%s: %d tasks outstanding in %d blocks: starting %d more",
                        executor.label,
                        load.outstanding,
                        len(load.blocks),
                        decision.scale_out,
                    )
                    executor.scale_out(decision.scale_out)
                if decision.scale_in:
                    logger.info(
                        "%s: blocks %s idle for %g s: cancelling them",
                        executor.label,
                        ", ".join(decision.scale_in),
                        self.max_idletime,
                    )
                    executor.scale_in(decision.scale_in)
            except Exception:
                logger.exception("scaling round of executor %s failed", executor.label)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.period)
            self._wake.clear()
            if not self._stopping:
                self.run_once()
