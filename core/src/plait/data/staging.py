"""Staging: which stager moves each file of a task, in which mode, and the part of it
that runs inside the task (``interface-specs/stager.md``).

The kernel plans a task's staging when it launches the task on an executor
(:class:`StagingPlanner`): each ``File`` in the call's ``inputs`` and ``outputs`` gets a
stager, the ``plait_resolve_stager`` hook's answer or the first of the executor's
stagers that accepts it. Stagers with the ``task`` mode run inside the task
(:class:`TaskStaging`, carried by the task's call); the others run on the kernel's
staging threads before and after it (:class:`Plan`).
"""

from __future__ import annotations

import copy
import getpass
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from plait.data.files import File
from plait.errors import (
    ConfigError,
    MissingOutputsError,
    StageOutUnsupportedError,
    StagingPathError,
    UnknownSchemeError,
)
from plait.interfaces import Executor, Stager

Resolver = Callable[..., "Stager | None"]


def stager_list(value: Any, where: str) -> list[Stager]:
    """The stagers of an executor's ``staging`` setting: a list of stager names, tables
    with a ``kind`` and options, or :class:`Stager` instances."""
    from plait.config.config import component_option

    if isinstance(value, (str, Mapping, Stager)) or not isinstance(value, Iterable):
        raise ConfigError(
            f"{where} must be a list of stagers, got {value!r}",
            hint='use e.g. staging = ["http", {kind = "rsync", identity_file = "..."}]',
        )
    return [
        component_option("stager", Stager, where, str(i), 'staging = ["http"]')(item)
        for i, item in enumerate(value)
    ]


def default_stagers() -> list[Stager]:
    """Every installed stager, constructed without arguments (STG-002), in the order
    the plugins registered them: the staging of an executor that sets none."""
    from plait.plugins import registry

    stagers = [cls() for _name, cls in registry("stager").items()]
    return [stager for stager in stagers if isinstance(stager, Stager)]  # the registry's base


def with_local_files(stagers: list[Stager]) -> list[Stager]:
    """``stagers``, plus the built-in local file stager when none of them takes plain
    paths: local files always work."""
    from plait.builtins.local_files import LocalFileStager

    if any("file" in s.schemes for s in stagers):
        return stagers
    return [*stagers, LocalFileStager()]


def default_task_root() -> str:
    """Where ``task``-mode staging puts task directories when the executor sets no
    ``working_dir``: a directory of this user's in the system's temporary directory."""
    return os.path.join(tempfile.gettempdir(), f"plait-staging-{getpass.getuser()}")


@attrs.frozen
class TaskStaging:
    """The staging a task does inside itself: its ``task``-mode stagers, by position in
    the call's ``inputs`` and ``outputs``. Picklable; runs where the task runs."""

    inputs: tuple[tuple[int, Stager], ...] = ()
    outputs: tuple[tuple[int, Stager], ...] = ()
    root: str | None = None
    """The executor's ``working_dir``; None: :func:`default_task_root` there."""
    name: str = "task"
    """The task's directory under the root."""
    make_dirs: tuple[str, ...] = ()
    """Directories to create first, kept afterwards: where the app writes outputs that
    ``separate``-mode stagers publish after the task."""

    @contextmanager
    def around(self, app: str, kwargs: Mapping[str, Any]) -> Iterator[None]:
        """Stage the inputs in, point the outputs at their local paths, run the body,
        stage the outputs out; remove the task's directory in any case (STG-204)."""
        inputs, outputs = kwargs.get("inputs") or (), kwargs.get("outputs") or ()
        workdir = os.path.join(self.root or default_task_root(), self.name)
        pairs = [(inputs[i], s) for i, s in self.inputs]
        pairs += [(outputs[i], s) for i, s in self.outputs]
        made = any(stager.local_path(file, workdir) != file.path for file, stager in pairs)
        for directory in self.make_dirs:
            os.makedirs(directory, exist_ok=True)
        try:
            if made:
                os.makedirs(workdir, exist_ok=True)
            for i, stager in self.inputs:
                inputs[i].local_path = stager.stage_in(inputs[i], workdir).filepath
            for i, stager in self.outputs:
                local = stager.local_path(outputs[i], workdir)
                outputs[i].local_path = None if local == outputs[i].path else local
            yield
            stage_out_all(app, [(outputs[i], s) for i, s in self.outputs], workdir)
        finally:
            if made:
                shutil.rmtree(workdir, ignore_errors=True)


def stage_out_all(app: str, files: Sequence[tuple[File, Stager]], workdir: str) -> None:
    """Publish each output; outputs the app did not write are named together in one
    :class:`~plait.errors.MissingOutputsError`."""
    missing: list[str] = []
    for file, stager in files:
        try:
            stager.stage_out(file, workdir)
        except MissingOutputsError:
            missing.append(file.url)
    if missing:
        raise MissingOutputsError(
            f"app {app!r} finished but did not create: {', '.join(missing)}", missing=missing
        )


@attrs.define
class Plan:
    """One attempt's staging: what runs in the task, and what the kernel runs before and
    after it on its staging threads (``separate`` mode) in ``workdir``."""

    app: str
    task: TaskStaging | None = None
    before: list[tuple[File, Stager]] = attrs.field(factory=list)
    after: list[tuple[File, Stager]] = attrs.field(factory=list)
    workdir: str = ""
    ran: bool = False
    """True once the app ran (its outputs are being staged out)."""

    def stage_in(self) -> None:
        """Stage the ``separate``-mode inputs in (a staging thread)."""
        for file, stager in self.before:
            file.local_path = stager.stage_in(file, self.workdir).filepath

    def stage_out(self) -> None:
        """Stage the ``separate``-mode outputs out (a staging thread)."""
        stage_out_all(self.app, self.after, self.workdir)


class StagingPlanner:
    """Plans the staging of tasks on the dispatcher thread: each executor's stagers
    (its ``staging``, else every installed stager) and working directory."""

    def __init__(self, executors: Iterable[Executor], run_dir: str, resolve: Resolver | None):
        self.stagers: dict[str, list[Stager]] = {}
        self.working_dirs: dict[str, str | None] = {}
        defaults: list[Stager] | None = None  # shared by the executors that set none
        for executor in executors:
            chosen = getattr(executor, "staging", ())
            if chosen:
                listed = stager_list(chosen, f"executor {executor.label!r} staging")
                self.stagers[executor.label] = with_local_files(listed)
            else:
                defaults = defaults or with_local_files(default_stagers())
                self.stagers[executor.label] = defaults
            self.working_dirs[executor.label] = getattr(executor, "working_dir", None)
        self.run_dir = run_dir
        self.resolve = resolve
        self.token = uuid.uuid4().hex[:8]

    def plan(
        self, app: str, tid: int, attempt: int, kwargs: MutableMapping[str, Any], executor: Executor
    ) -> Plan | None:
        """Plan one attempt: replace the files in ``kwargs``'s ``inputs`` and ``outputs``
        by copies of this attempt's (the originals are shared with other tasks and
        ``DataFuture``\\ s) and choose their stagers. None when there is no file."""
        found = {key: _files(kwargs.get(key)) for key in ("inputs", "outputs")}
        if not (found["inputs"] or found["outputs"]):
            return None
        stagers = self.stagers[executor.label]
        name = f"{self.token}-task{tid}-{attempt}"
        root = self.working_dirs[executor.label]
        plan = Plan(app, workdir=os.path.join(root or os.path.join(self.run_dir, "staging"), name))
        in_task: dict[str, list[tuple[int, Stager]]] = {"inputs": [], "outputs": []}
        names: dict[str, str] = {}
        for key, positions in found.items():
            if not positions:
                continue
            files = list(kwargs[key])
            for i in positions:
                file = files[i] = _fresh(files[i])
                stager = self.stager_for(file, executor, stagers)
                if key == "outputs" and not stager.has_capability("stage_out"):
                    raise StageOutUnsupportedError(
                        f"output {file.url}: stager {type(stager).__name__} of executor "
                        f"{executor.label!r} can only stage files in",
                        url=file.url,
                    )
                _check_unique(file, stager, names)
                if "task" in stager.modes:
                    in_task[key].append((i, stager))
                else:
                    (plan.before if key == "inputs" else plan.after).append((file, stager))
                    if key == "outputs":
                        file.local_path = stager.local_path(file, plan.workdir)
            kwargs[key] = files
        if in_task["inputs"] or in_task["outputs"] or plan.after:
            make_dirs = (plan.workdir,) if plan.after else ()
            plan.task = TaskStaging(
                tuple(in_task["inputs"]), tuple(in_task["outputs"]), root, name, make_dirs
            )
        return plan

    def stager_for(self, file: File, executor: Executor, stagers: list[Stager]) -> Stager:
        """The ``plait_resolve_stager`` hook's stager for ``file``, else the first of
        ``stagers`` that accepts it; :class:`UnknownSchemeError` when none does."""
        if self.resolve is not None:
            chosen = self.resolve(file=file, executor=executor, stagers=stagers)
            if chosen is not None:
                return chosen
        for stager in stagers:
            if stager.accepts(file):
                return stager
        raise unknown_scheme(file, executor.label, stagers)


def unknown_scheme(file: File, label: str, stagers: Sequence[Stager]) -> UnknownSchemeError:
    """The error for a file no stager of executor ``label`` accepts, naming its stagers
    and the distribution that handles the scheme."""
    from plait.plugins import registry
    from plait.registry import SCHEME_PLUGINS

    names = [registry("stager").name_of(type(s)) or type(s).__name__ for s in stagers]
    distribution = SCHEME_PLUGINS.get(file.scheme)
    hint = (
        f"pip install {distribution}, and list it in the executor's staging if it sets one"
        if distribution
        else f"install a stager plugin for {file.scheme!r} URLs"
    )
    return UnknownSchemeError(
        f"no stager of executor {label!r} accepts {file.url} (scheme {file.scheme!r}); "
        f"its stagers: {', '.join(names) or 'none'}",
        hint=hint,
        url=file.url,
        stagers=names,
    )


def _files(value: Any) -> list[int]:
    if not isinstance(value, (list, tuple)):
        return []
    return [i for i, item in enumerate(value) if isinstance(item, File)]


def _fresh(file: File) -> File:
    """A copy of ``file`` without a local copy of an earlier attempt or task."""
    fresh = copy.copy(file)
    fresh.local_path = None
    return fresh


def _check_unique(file: File, stager: Stager, names: dict[str, str]) -> None:
    """Two files of one task that a stager would copy to the same local name."""
    local = stager.local_path(file, "")
    if local == file.path:
        return  # used in place
    other = names.setdefault(local, file.url)
    if other != file.url:
        raise StagingPathError(
            f"{file.url} and {other} would both be staged as {local!r} in the task's directory",
            hint="give the files different names",
            url=file.url,
        )
