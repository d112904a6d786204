"""The error model: every error a user can see is a :class:`PlaitError`.

Each subclass carries a stable ``code`` (``PLT-123``), a one-line ``title`` and a
default ``hint``. An instance adds the concrete ``message`` (with the values involved)
and may override the hint. ``str(error)`` renders all of it plus a link to the
error's entry in the catalogue (``docs/errors``), which is generated from the classes
in this module: the class docstring is the entry's "cause" text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, ClassVar

DOCS_BASE = "https://plait.readthedocs.io/en/latest/errors.html"


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word`` (a likely misspelling of it), or None."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` naming the choice closest to ``word``, or ``""`` when
    none is close: the suggestion an error message about an unknown name ends with."""
    close = closest(word, choices)
    return f" (did you mean {close!r}?)" if close else ""


class PlaitError(Exception):
    """Base class of every error plait raises on purpose."""

    code: ClassVar[str] = "PLT-000"
    title: ClassVar[str] = "plait error"
    default_hint: ClassVar[str] = ""

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.details = details
        super().__init__(message)

    @property
    def docs_url(self) -> str:
        """Link to this error's entry in the error catalogue."""
        return f"{DOCS_BASE}#{self.code.lower()}"

    def __str__(self) -> str:
        text = f"[{self.code}] {self.title}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text + f"\n  docs: {self.docs_url}"

    def __reduce__(self) -> tuple[Any, ...]:
        # attributes set after construction (e.g. a task's app log records) travel too
        extra = {k: v for k, v in vars(self).items() if k not in ("message", "hint", "details")}
        return (_rebuild, (type(self), self.message, self.hint, self.details), extra or None)


def _rebuild(cls: type[PlaitError], message: str, hint: str, details: dict[str, Any]) -> PlaitError:
    err = cls.__new__(cls)
    PlaitError.__init__(err, message, hint=hint, **details)
    return err


# --- using the kernel -----------------------------------------------------------


class NoDataFlowKernelError(PlaitError):
    """An app was called, or the kernel was asked for, before any configuration was
    loaded."""

    code = "PLT-100"
    title = "no plait configuration is loaded"
    default_hint = (
        "call plait.load() (local default) or plait.load(config) before calling apps, "
        "for example `with plait.load(): ...`"
    )


class KernelClosedError(PlaitError):
    """A task was submitted to a kernel that has been cleaned up."""

    code = "PLT-101"
    title = "the dataflow kernel is shut down"
    default_hint = "load a new configuration with plait.load() before submitting more tasks"


class KernelAlreadyLoadedError(PlaitError):
    """``plait.load()`` was called while another kernel is still active."""

    code = "PLT-102"
    title = "a plait configuration is already loaded"
    default_hint = "call plait.clear() (or leave the `with plait.load(...)` block) first"


# --- configuration and components -----------------------------------------------


class ConfigError(PlaitError):
    """A configuration value is invalid."""

    code = "PLT-110"
    title = "invalid configuration"
    default_hint = "fix the value named above; see the configuration reference"


class UnknownExecutorError(PlaitError):
    """An app asked for an executor label that the loaded configuration does not have."""

    code = "PLT-111"
    title = "unknown executor label"
    default_hint = "use one of the labels of the executors in your Config"


class ComponentNotFoundError(PlaitError):
    """A configuration names a component kind that no installed plugin provides."""

    code = "PLT-112"
    title = "component not installed"
    default_hint = "install the plugin that provides it"


class DuplicateLabelError(PlaitError):
    """Two executors in one configuration share a label."""

    code = "PLT-113"
    title = "duplicate executor label"
    default_hint = "give every executor a distinct label"


class ResourceSpecificationError(PlaitError):
    """A resource specification has an unknown key or an invalid value."""

    code = "PLT-114"
    title = "invalid resource specification"
    default_hint = (
        "use the common keys (cores, memory, gpus, walltime, priority, num_nodes, "
        "ranks_per_node, num_ranks) or put executor-specific keys under extra={'<kind>': {...}}"
    )


class UnknownKeyError(ConfigError):
    """A configuration (a file, a dict, or a component's table) has a key that is not
    one of its options; the message suggests the closest valid one."""

    code = "PLT-115"
    title = "unknown configuration key"
    default_hint = "correct the spelling, or remove the key; the valid keys are listed above"


def unknown_key(owner: str, key: str, known: list[str]) -> UnknownKeyError:
    """The error for ``key``, which ``owner`` does not have, suggesting the closest of
    ``known``."""
    return UnknownKeyError(
        f"{owner} has no option {key!r}{did_you_mean(key, known)}",
        hint=f"valid options: {', '.join(known)}" if known else "it takes no options",
        option=key,
    )


class ImpossibleResourcesError(ConfigError):
    """A configuration asks for resources its own settings rule out: more workers than
    a node has cores, or MPI tasks larger than a block."""

    code = "PLT-116"
    title = "resource request cannot be met"
    default_hint = "lower the request or raise the block's size (nodes_per_block, cores_per_node)"


class AddressError(ConfigError):
    """An address in the configuration is not a name or address of this host, or does
    not resolve, so workers could not connect to it."""

    code = "PLT-117"
    title = "address unreachable"
    default_hint = (
        "leave address unset for the default, or give a name or IP of an interface of "
        "this host that the nodes can reach (see `ip addr`)"
    )


class VersionMismatchError(ConfigError):
    """The Python (major.minor) or the plait version that workers would run differs from
    the submitting side's, so tasks and results could not be exchanged."""

    code = "PLT-118"
    title = "worker Python or plait version differs"
    default_hint = (
        "point worker_python at a Python of the same version with the same plait "
        "installed, or load the matching environment in worker_init"
    )


class PluginError(PlaitError):
    """A plugin could not be loaded, or implements a hook that does not exist."""

    code = "PLT-120"
    title = "plugin error"
    default_hint = (
        "fix or uninstall the plugin named above, or disable it with PLAIT_DISABLE_PLUGINS"
    )


# --- task failures ----------------------------------------------------------------


class DependencyError(PlaitError):
    """A task could not run because a task it depends on failed."""

    code = "PLT-200"
    title = "dependency failed"
    default_hint = "fix the failing ancestor task named first in the chain"

    @property
    def chain(self) -> tuple[str, ...]:
        """Task labels from the task that failed first down to this one."""
        return tuple(self.details.get("chain", ()))

    @property
    def root_cause(self) -> str:
        """The failed ancestor's error, rendered as ``Type: message``."""
        return str(self.details.get("root_cause", ""))


class BashAppNoReturnError(PlaitError):
    """A bash app's function returned something other than a command string."""

    code = "PLT-201"
    title = "bash app did not return a command string"
    default_hint = "make the bash app function return the command line to run, as a str"


class BashExitFailure(PlaitError):
    """A bash app's command exited with a non-zero status."""

    code = "PLT-202"
    title = "bash app command failed"
    default_hint = "read the stdout/stderr excerpts above; rerun the command by hand to debug"

    @property
    def exitcode(self) -> int:
        """The command's exit status."""
        return int(self.details["exitcode"])


class AppTimeout(PlaitError):
    """A task ran longer than its ``walltime``."""

    code = "PLT-203"
    title = "app exceeded its walltime"
    default_hint = "raise the app's walltime or make the task shorter"


class MissingInputFileError(PlaitError):
    """A :class:`~plait.File` passed in ``inputs`` does not exist where the task runs."""

    code = "PLT-204"
    title = "input file missing"
    default_hint = "create the file first, or make the task that writes it an input dependency"


class MissingOutputsError(PlaitError):
    """A task finished but did not create every file listed in its ``outputs``."""

    code = "PLT-205"
    title = "declared output files were not created"
    default_hint = "make the app write every file it lists in outputs=[...]"


class JoinAppError(PlaitError):
    """A join app returned something other than a future or a list of futures, or one of
    the futures it returned failed."""

    code = "PLT-206"
    title = "join app failed"
    default_hint = "a join app must return an AppFuture or a list of AppFutures"


class CapabilityError(PlaitError):
    """A task asked an executor for something it does not declare it can do."""

    code = "PLT-207"
    title = "executor lacks a capability"
    default_hint = "choose an executor that declares the capability, or drop the request"


class SerializationError(PlaitError):
    """A task's function, arguments or result could not be turned into bytes, or bytes
    could not be turned back, by any of the serializers tried. ``details["tried"]``
    maps each serializer to its failure."""

    code = "PLT-208"
    title = "could not serialize task data"
    default_hint = (
        "return or pass plain data (numbers, str, lists, dicts, numpy arrays) instead of "
        "objects bound to one process (locks, sockets, open files, generators)"
    )


# --- executor and resource failures ------------------------------------------------


class ExecutorFailureError(PlaitError):
    """Base of the failures of an executor's own machinery rather than of the task's
    code. ``details`` names the ``executor``, ``host``, ``block``, ``worker`` and
    ``attempt`` concerned where they are known; the kernel retries such tasks when
    ``Config.retries`` allows."""

    code = "PLT-209"
    title = "executor failure"
    default_hint = "see the executor's log in the run directory"


class WorkerLostError(ExecutorFailureError):
    """The worker process running the task died: it was killed (SIGKILL, the
    out-of-memory killer), crashed (a segmentation fault) or called ``os._exit``."""

    code = "PLT-210"
    title = "worker process lost while running the task"
    default_hint = (
        "the task's code ended its process: look for os._exit, sys.exit in C code, a "
        "crash in a compiled extension, or memory use beyond the node's limit "
        "(mem_per_worker limits workers per node)"
    )


class ManagerLostError(ExecutorFailureError):
    """The manager process of a worker pool stopped sending heartbeats, so its tasks
    are presumed lost (the node failed, the process was killed, or the network
    between the node and the interchange broke)."""

    code = "PLT-211"
    title = "worker pool manager lost"
    default_hint = (
        "read the block's stderr in the run directory; raise heartbeat_threshold if the "
        "nodes are merely slow to answer"
    )


class BlockLostError(ExecutorFailureError):
    """The block (batch job) running the task ended under it: cancelled by the
    provider or the scheduler, killed at its walltime, or failed."""

    code = "PLT-212"
    title = "block ended while running the task"
    default_hint = (
        "if the block reached its walltime, raise the provider's walltime or set "
        "drain_period; otherwise read the block's stdout/stderr named above"
    )


class InterchangeLostError(ExecutorFailureError):
    """The executor's interchange process died, so tasks sent through it cannot
    complete."""

    code = "PLT-213"
    title = "interchange process died"
    default_hint = "read interchange.log in the executor's run directory, then rerun"


class ExecutorUnavailableError(ExecutorFailureError):
    """A task was given to an executor that is not started, has shut down, or has failed
    for good (for example after repeated block failures)."""

    code = "PLT-214"
    title = "executor cannot take tasks"
    default_hint = "use the executor only between plait.load(...) and cleanup"


class RemoteTaskError(PlaitError):
    """A task raised an exception in another process that could not be sent back as
    itself (it could not be serialized); this error carries its type, message and the
    remote traceback instead."""

    code = "PLT-216"
    title = "task raised an exception that could not be sent back"
    default_hint = "read the remote traceback below; make the exception class picklable"


class BlockFailureError(ExecutorFailureError):
    """Blocks of an executor kept failing before doing any work (the worker pool could
    not start: wrong Python, an import error, an unreachable interchange address, a
    scheduler refusing the job), so the executor gave up instead of retrying forever.
    The message carries the last block's own stderr."""

    code = "PLT-215"
    title = "blocks keep failing to start"
    default_hint = (
        "fix the cause shown in the block's stderr (worker_init, the Python on the "
        "nodes, the executor's address); max_block_failures sets how many failures "
        "are tolerated"
    )


class SchedulerCommandError(PlaitError):
    """A batch scheduler's command (``sbatch``, ``squeue``, ``scancel``, or the
    equivalent of another scheduler) failed, did not answer in time, or is not
    installed. The message quotes the scheduler's own output, e.g. ``sbatch: error:
    invalid partition specified``."""

    code = "PLT-217"
    title = "scheduler command failed"
    default_hint = (
        "fix the option the scheduler names (partition, account, qos, constraint, "
        "walltime); a missing command means this host is not a submit host of the "
        "scheduler, or its bin directory is not on PATH"
    )


class MpiLaunchError(PlaitError):
    """The MPI job of an MPI task could not start: the launcher's executable is not
    installed where the task ran, belongs to an MPI the launcher cannot drive, or
    exited before any rank ran (the message quotes its output)."""

    code = "PLT-218"
    title = "MPI job could not start"
    default_hint = (
        "install the MPI on the nodes (or load its module in worker_init), choose the "
        "launcher of its flavor (mpiexec: MPICH and Intel MPI; mpirun: Open MPI; "
        "srun-mpi: Slurm), or set the launcher's executable to its full path"
    )


class MpiRankError(PlaitError):
    """Ranks of an MPI app raised exceptions, or ended without a result. The message
    names every failing rank with its exception type and message; ``rank_tracebacks``
    holds each one's remote traceback."""

    code = "PLT-219"
    title = "MPI app failed on some ranks"
    default_hint = "read each rank's traceback below; a rank that raises ends the MPI job"


# --- Globus Compute ------------------------------------------------------------------


class EndpointOfflineError(ExecutorFailureError):
    """The Globus Compute endpoint an executor submits to is not online, does not exist,
    or refuses this user, so its tasks would wait at the service or be refused. The
    message quotes the endpoint's status or the service's answer."""

    code = "PLT-220"
    title = "Globus Compute endpoint offline or unavailable"
    default_hint = (
        "start the endpoint (globus-compute-endpoint start NAME) and check endpoint_id "
        "against `globus-compute-endpoint list`; set require_online = false to queue "
        "tasks at the service until the endpoint comes online"
    )


class PayloadTooLargeError(SerializationError):
    """A task's serialized function and arguments, or its serialized result, exceed the
    size Globus Compute carries (10 MB by default), so the service or the endpoint
    refuses it. The message gives the size and the limit."""

    code = "PLT-221"
    title = "task data too large for Globus Compute"
    default_hint = (
        "pass large data by reference instead: write it to a file system the endpoint "
        "shares (or stage it with File and a stager) and pass the path; return a path "
        "rather than a large value"
    )


class EndpointVersionMismatchError(ExecutorFailureError):
    """The endpoint's workers could not run the task as the submitting side sent it:
    their Python (major.minor), plait or plait-globus-compute version differs, or they
    lack a module the task needs, so the task could not be loaded there. The message
    names both sides' versions and quotes the endpoint's error."""

    code = "PLT-222"
    title = "endpoint Python or packages differ from the submitting side"
    default_hint = (
        "install the same Python version, plait and plait-globus-compute (and the "
        "task's own modules) in the endpoint's worker environment, e.g. through its "
        "worker_init, or submit from an environment that matches the endpoint's"
    )


# --- data staging ------------------------------------------------------------------


class StagingError(PlaitError):
    """Moving a task's input or output file failed: the server refused or could not be
    reached, the transfer broke off, or the copy did not match its checksum. The
    message names the file's URL and quotes the cause; only the tasks that need the
    file fail."""

    code = "PLT-400"
    title = "file staging failed"
    default_hint = "check that the URL is right and its server reachable from where staging runs"


class UnknownSchemeError(StagingError):
    """A task's ``inputs`` or ``outputs`` name a URL scheme that none of its executor's
    stagers accepts. The message lists the stagers the executor has and the plugin that
    handles the scheme, when plait knows one."""

    code = "PLT-401"
    title = "no stager for this URL scheme"
    default_hint = "install the stager plugin for the scheme, or add it to the executor's staging"


class StagingPathError(StagingError):
    """A staged file's path lies outside the roots its stager allows (its
    ``allowed_roots`` option), or two files of one task would be staged to the same
    local name."""

    code = "PLT-402"
    title = "file path not allowed for staging"
    default_hint = "use a path under the stager's allowed_roots, or widen allowed_roots"


class StageOutUnsupportedError(StagingError):
    """A task lists an output whose stager can only stage files in, so the file the
    app writes could never reach its URL; the task fails before it runs."""

    code = "PLT-403"
    title = "stager cannot publish outputs"
    default_hint = "write outputs to a local path or a URL whose stager supports stage_out"


class ConsentRequiredError(StagingError):
    """Globus Transfer refused a transfer because the user has not consented to a
    collection's ``data_access`` scope (Globus Connect Server v5 mapped collections).
    The message names the collections and the exact scopes missing."""

    code = "PLT-410"
    title = "Globus consent required for a collection"
    default_hint = "run `plait globus login --collection ID` for the collections named"


class GlobusLoginRequiredError(StagingError):
    """No Globus tokens are stored for plait, or they expired and cannot be refreshed,
    so Globus Transfer cannot be called."""

    code = "PLT-411"
    title = "Globus login required"
    default_hint = "run `plait globus login` (tokens are kept in your config directory)"


class TransferPermissionError(StagingError):
    """Globus Transfer refused access to a path on a collection: the user's identity is
    not allowed to read (stage-in) or write (stage-out) there."""

    code = "PLT-412"
    title = "permission denied on a Globus collection"
    default_hint = (
        "ask the collection's administrator for access to the path, or use a path your "
        "identity may read or write"
    )


# --- memoization and checkpoints ---------------------------------------------------


class UnhashableArgumentError(PlaitError):
    """A cached (``cache=True``) app got an argument plait cannot hash for memoization."""

    code = "PLT-300"
    title = "argument cannot be hashed for memoization"
    default_hint = (
        "pass the argument through ignore_for_cache=[...], make it picklable, or "
        "register plait.id_for_memo for its type"
    )


class CheckpointError(PlaitError):
    """A checkpoint file could not be read."""

    code = "PLT-301"
    title = "checkpoint file unreadable"
    default_hint = "remove the file from Config.checkpoint_files, or delete it and rerun"


# --- maturity ------------------------------------------------------------------------


class PlaitMaturityWarning(UserWarning):
    """A component below ``beta`` (``alpha``) or past its life (``deprecated``,
    ``unmaintained``) was instantiated; issued once per component per process."""


class MaturityFileError(PlaitError):
    """``maturity.yaml`` cannot be read: it is not valid YAML, or an entry has a missing,
    unknown or wrongly typed field, an unknown kind or rule, or a rule status other than
    ``done``, ``todo`` or ``{status: exempt, comment: ...}``."""

    code = "PLT-500"
    title = "maturity.yaml is invalid"
    default_hint = "fix the field named above; the schema is described in docs/components"


class UnknownMaturityLevelError(PlaitError):
    """A ``maturity.yaml`` entry names a level that does not exist."""

    code = "PLT-501"
    title = "unknown maturity level"
    default_hint = "use one of: development, alpha, beta, stable, deprecated, unmaintained"


class MaturityRuleError(PlaitError):
    """A rule marked ``done`` in ``maturity.yaml`` fails its automatic validator."""

    code = "PLT-502"
    title = "a maturity rule marked done does not hold"
    default_hint = "make the rule hold, or set it back to todo (or exempt it with a comment)"


class MaturityMismatchError(PlaitError):
    """``maturity.yaml`` and the component disagree: the class declares another level or
    other capabilities, comes from another package, or implements another spec version."""

    code = "PLT-503"
    title = "maturity.yaml and the component class disagree"
    default_hint = "change the class attribute or the maturity.yaml entry so that they agree"


class ComponentListingError(PlaitError):
    """A first-party component is registered but not listed in ``maturity.yaml``, or
    listed but not registered by any installed plugin (or its entry point fails)."""

    code = "PLT-504"
    title = "component registration and maturity.yaml differ"
    default_hint = "add the missing entry to maturity.yaml, or remove the stale one"


class DevelopmentComponentError(PlaitError):
    """A component at maturity level ``development`` was used without enabling it."""

    code = "PLT-505"
    title = "development-level component not enabled"
    default_hint = (
        "enable it by name: Config(enable_development=['<name>']) or "
        "PLAIT_ENABLE_DEVELOPMENT=<name>"
    )


class ConformanceReportError(PlaitError):
    """A conformance report shows a failing requirement for a component, was produced
    against another spec version, or could not be read or produced."""

    code = "PLT-506"
    title = "conformance report shows a failure"
    default_hint = "fix the component (or rerun the kit) until the report has no failure"


class MaturityLevelIncompleteError(PlaitError):
    """A ``maturity.yaml`` entry claims a level but some rules of that level are missing
    from its ``rules`` or still ``todo``."""

    code = "PLT-507"
    title = "rules of the claimed maturity level are not all met"
    default_hint = (
        "add the rules shown below and mark each done (or exempt with a comment), "
        "or claim a lower level"
    )


def all_error_classes() -> list[type[PlaitError]]:
    """Every concrete error class, in code order (used by the docs catalogue)."""
    seen: list[type[PlaitError]] = []
    stack: list[type[PlaitError]] = [PlaitError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted((c for c in seen if c is not PlaitError), key=lambda c: c.code)
