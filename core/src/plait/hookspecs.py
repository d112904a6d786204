"""Every hook a plait plugin can implement.

A plugin is a module (or object) with functions decorated by :data:`plait.hookimpl`,
published through the ``plait.plugins`` entry-point group; the entry-point name is the
component's name in ``maturity.yaml``. Registration hooks are *historic*: a plugin
loaded late still sees every registry. Hook implementations may omit arguments they do
not need.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    import plait.errors
    from plait.config import Config
    from plait.data.files import File
    from plait.interfaces import Component, ErrorContext, Executor, Stager, TaskDescription
    from plait.kernel.events import TaskEvent
    from plait.registry import Registry

hookspec = pluggy.HookspecMarker("plait")


@hookspec(historic=True)
def plait_register_executors(registry: Registry) -> None:
    """Add executor classes: ``registry.add("threads", ThreadPoolExecutor)``.

    Called once per process when the executor registry is first needed.
    The classes must satisfy ``interface-specs/executor.md``.
    """


@hookspec(historic=True)
def plait_register_providers(registry: Registry) -> None:
    """Add execution provider classes (``interface-specs/provider.md``)."""


@hookspec(historic=True)
def plait_register_launchers(registry: Registry) -> None:
    """Add launcher classes (``interface-specs/launcher.md``)."""


@hookspec(historic=True)
def plait_register_serializers(registry: Registry) -> None:
    """Add serializer classes (``interface-specs/serializer.md``)."""


@hookspec(historic=True)
def plait_register_stagers(registry: Registry) -> None:
    """Add data stager classes, each for the URL schemes it declares."""


@hookspec(historic=True)
def plait_register_error_reporters(registry: Registry) -> None:
    """Add error reporter classes (``interface-specs/error-reporter.md``)."""


@hookspec(firstresult=True)
def plait_select_serializer(obj: Any, candidates: Sequence[str]) -> str | None:
    """Pick the serializer (by registry name) for ``obj`` among ``candidates``.

    The first non-None answer wins; None from every plugin means "first candidate
    that succeeds".
    """


@hookspec(firstresult=True)
def plait_choose_executor(task: TaskDescription, executors: Sequence[Executor]) -> Executor | None:
    """Pick the executor for a task among the app's allowed ``executors``.

    Called on the dispatcher thread when the task is launched, with at least two
    candidates. The first non-None answer wins, before the configured
    ``Config.executor_policy`` (``round-robin`` by default, or ``least-loaded``), which
    decides when every implementation returns None.
    """


@hookspec(firstresult=True)
def plait_resolve_stager(
    file: File, executor: Executor, stagers: Sequence[Stager]
) -> Stager | None:
    """Pick the stager that moves ``file`` for a task on ``executor``, among the
    executor's ``stagers`` or any other.

    Called on the dispatcher thread when a task with ``inputs`` or ``outputs`` is
    launched, once per file. The first non-None answer wins; None from every plugin
    means "the first of ``stagers`` that accepts the file" (``interface-specs/stager.md``).
    """


@hookspec
def plait_add_commands(group: click.Group) -> None:
    """Add subcommands to the ``plait`` command line: ``group.add_command(globus)``.

    Called once, when a ``plait`` invocation first looks up a subcommand it does not
    know (or lists them for ``--help``).
    """


@hookspec
def plait_report_error(error: BaseException, context: ErrorContext) -> None:
    """A task has failed for good (retries exhausted). Called on the dispatcher thread;
    must not block."""


@hookspec
def plait_task_event(event: TaskEvent) -> None:
    """A task changed state. Called on the dispatcher thread for every transition, in
    order; must not block (hand heavy work to a thread of your own)."""


@hookspec
def plait_check_component(
    component: Component, path: str, config: Config | None
) -> Sequence[plait.errors.PlaitError] | None:
    """Check a component of a configuration for ``plait config check``: return the
    problems the options alone cannot show (a scheduler command missing from ``PATH``,
    an address of another host, workers more than the cores a node has), or None.

    Called for every component built from the configuration (``path`` says where it
    is, e.g. ``executors[0].provider``; ``config`` is the whole configuration, or None
    when other parts of it are invalid), so an implementation first checks the
    component's type. An error's ``option`` detail,
    when given, is added to the path. Must not start anything: run at most short
    commands such as ``sbatch --version``.
    """
