"""Ending the threads PSI/J starts, once a provider has no live block (PRV-011), and
keeping PSI/J's local reaper alive meanwhile.

PSI/J 0.9 starts two kinds of thread and ends neither by itself:

* every batch executor (``slurm``, ``pbs``, ``lsf`` ...) starts a *queue polling thread*
  when it is created; the thread ends only once its ``done`` flag is set (PSI/J sets it
  when the executor is garbage-collected, which never happens while a job refers to it),
  after its current sleep of ``queue_polling_interval`` seconds;
* the ``local`` executor shares one *process reaper* thread per process (a
  ``SingletonThread``) that loops forever.

:func:`release` lets both end. The reaper ends only when no job of any local executor is
registered with it, and it ends from its own loop, under its own lock: it leaves PSI/J's
singleton table (so that the next local executor starts a new reaper) and forwards
later ``register``/``cancel`` calls of executors that still hold it to the new one.

:func:`adopt` also shields the reaper. PSI/J kills a cancelled job's processes one by
one (``psutil``), and one that exits meanwhile raises ``NoSuchProcess``, which aborts the
reaper's round: a job reaped earlier in that round is then killed again at every later
round, which raises for ever, and no job of the process is reaped any more. (PSI/J's
handler for the error is broken too: ``logger.error(msg, ex)`` without a placeholder
ends the thread when logging raises, as under pytest.) The shielded reaper kills a job's
processes skipping those that are gone and never a reaped job, and logs the error of a
round and tries again at the next.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psij import JobExecutor

logger = logging.getLogger(__name__)

_STOPPING: weakref.WeakKeyDictionary[Any, threading.Event] = weakref.WeakKeyDictionary()
_STOPPING_LOCK = threading.Lock()


def release(executor: JobExecutor) -> None:
    """Let the threads PSI/J started for ``executor`` end (the executor must have no
    live job: it cannot poll or reap any more)."""
    poller = getattr(executor, "_queue_poll_thread", None)
    if poller is not None:
        poller.done = True
    for reaper in _reapers(executor):
        _stop_when_idle(reaper)


def adopt(executor: JobExecutor) -> None:
    """Shield the loop of the reaper ``executor`` uses, and undo a pending
    :func:`release` of it (a new executor got the reaper that was about to end)."""
    for reaper in _reapers(executor):
        _control(reaper).clear()


def _reapers(executor: JobExecutor) -> list[Any]:
    """The reaper ``executor`` holds and, if another, the one now running in its place."""
    reaper = getattr(executor, "_reaper", None)
    if reaper is None:
        return []
    current = type(reaper)._instances.get(os.getpid())
    return [reaper] if current is None or current is reaper else [reaper, current]


def _stop_when_idle(reaper: Any) -> None:
    """Make PSI/J's process reaper ``reaper`` end at its next loop without jobs."""
    _control(reaper).set()


def _control(reaper: Any) -> threading.Event:
    """The stop request of ``reaper``, which is shielded on first use."""
    with _STOPPING_LOCK:
        event = _STOPPING.get(reaper)
        if event is None:
            event = _STOPPING[reaper] = threading.Event()
            _shield(reaper, event)
    return event


def _current(singleton: Any) -> Any:
    """The running reaper (started now if there is none), shielded."""
    reaper = singleton.get_instance()
    _control(reaper)
    return reaper


def _shield(reaper: Any, stop: threading.Event) -> None:
    """Wrap the round of ``reaper`` (``_check_processes``) and its ``register``."""
    check, register = reaper._check_processes, reaper.register
    singleton = type(reaper)

    def check_or_end(jobs: Any) -> Any:
        with reaper._lock:
            if stop.is_set() and not reaper._jobs:
                with singleton._lock:
                    if singleton._instances.get(os.getpid()) is reaper:
                        del singleton._instances[os.getpid()]
                reaper.register = lambda entry: _current(singleton).register(entry)
                reaper.cancel = lambda job: _current(singleton).cancel(job)
                logger.debug("PSI/J's process reaper %s ends: no job left", reaper.name)
                raise _ReaperDone  # PSI/J's loop catches only Exception
        try:
            return check(jobs)
        except Exception as exc:
            logger.debug("PSI/J's process reaper: %r; trying again", exc)
            return []

    def register_tolerant(entry: Any) -> None:
        entry.kill = lambda: _kill(entry)
        register(entry)

    reaper._check_processes = check_or_end
    reaper.register = register_tolerant
    report = getattr(reaper, "_invoke_excepthook", None)
    if report is not None:  # CPython: how a thread reports an exception that ended it

        def report_unless_done(thread: threading.Thread) -> None:
            if not isinstance(sys.exc_info()[1], _ReaperDone):
                report(thread)

        reaper._invoke_excepthook = report_unless_done


def _kill(entry: Any) -> None:
    """SIGKILL to the processes of a local job, as PSI/J does, skipping the ones that
    are gone, and nothing once the job's process has been reaped."""
    import psutil  # type: ignore[import-untyped]  # PSI/J's dependency; no type stubs

    process = entry.process
    if process is None or process.returncode is not None:
        return
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    with contextlib.suppress(ProcessLookupError):
        process.kill()


class _ReaperDone(SystemExit):
    """Ends a reaper thread (quietly: its thread does not report it as an error)."""
