"""What the executor relies on beyond the SDK's public API: stopping its threads.

The SDK's ``Executor`` sends tasks from a thread of its own, and results arrive on a
result-watcher thread shared by the SDK executors of one process (one per task group,
kept in ``globus_compute_sdk.sdk.executor._RESULT_WATCHERS``), which the SDK stops only
when the interpreter exits. plait's executors must leave no thread behind, so shutdown
waits for the sending threads and then stops the watcher once no running SDK executor
(``_REGISTERED_EXECUTORS``) waits on it. Tested with globus-compute-sdk 4.19.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STOP_TIMEOUT = 60.0
"""Seconds to wait for an SDK executor to finish a request it is sending."""


def stop_threads(executors: Sequence[Any], wait: bool) -> None:
    """After ``shutdown`` of the SDK ``executors``: wait for their sending threads to end
    (the last request they send may start a result watcher), then stop the result
    watcher of their task group (waiting for its thread when ``wait``)."""
    for executor in executors:
        executor._task_submitter.join(STOP_TIMEOUT)
    groups = {e.task_group_id for e in executors if e.task_group_id is not None}
    for group in groups:
        _stop_watcher(group, wait)


def _stop_watcher(group: Any, wait: bool) -> None:
    """Stop the result watcher of ``group`` unless a running SDK executor waits on it; the
    futures it still holds are those of executors shut down, and are cancelled."""
    from globus_compute_sdk.sdk.executor import _REGISTERED_EXECUTORS, _RESULT_WATCHERS

    watcher: Any = _RESULT_WATCHERS.get(group)
    if watcher is None:
        return
    running = set(_REGISTERED_EXECUTORS)
    waiting = watcher.get_open_futures().values()
    if not any(f._metadata.get("executor_id") in running for f in waiting):
        watcher.shutdown(wait=wait, cancel_futures=True)
