"""Which scheduler options each PSI/J executor can express, and the check that refuses
the others.

PSI/J carries the options in standard fields (``JobAttributes.queue_name`` and
``account``, ``ResourceSpecV1.exclusive_node_use``, ``cpu_cores_per_process``,
``gpu_cores_per_process``, ``memory``) and in custom attributes named
``<scheduler>.<directive>``; each batch executor renders them through its own submit
script template, and renders only some. The table below is read off PSI/J 0.9's
templates (``psij/executors/batch/*/*.mustache``) and executors: an option an executor
drops silently is refused here instead, with a hint.
"""

from __future__ import annotations

from typing import Any

from plait.errors import ConfigError

SCHEDULER_OPTIONS = (
    "partition",
    "account",
    "qos",
    "constraint",
    "exclusive",
    "cores_per_node",
    "mem_per_node",
    "gpus",
    "scheduler_options",
)
"""The provider options that only a scheduler can honour."""

STANDARD = frozenset(
    {"partition", "account", "exclusive", "cores_per_node", "mem_per_node", "gpus"}
)
"""Options carried in PSI/J's standard fields (executors outside :data:`RENDERED` get
them as they are and interpret them themselves)."""

RENDERED: dict[str, frozenset[str]] = {
    "slurm": frozenset(SCHEDULER_OPTIONS),
    "pbs": frozenset({"partition", "account", "exclusive", "mem_per_node", "scheduler_options"}),
    "pbs_classic": frozenset({"partition", "account", "exclusive", "scheduler_options"}),
    "lsf": frozenset({"partition", "account", "gpus", "scheduler_options"}),
    "cobalt": frozenset({"partition", "account", "scheduler_options"}),
    "flux": frozenset({"cores_per_node", "gpus"}),
    "local": frozenset(),
    "rp": frozenset(),
}
"""Executor name -> the options its submit script (or API call) really uses."""

CUSTOM_ATTRIBUTES: dict[str, dict[str, str]] = {
    "slurm": {"qos": "slurm.qos", "constraint": "slurm.constraint"},
}
"""Options that become custom attributes: executor -> option -> attribute name."""

JOB_NAME_ATTRIBUTES: dict[str, str] = {
    "slurm": "slurm.job-name",
    "pbs": "pbs.N",
    "pbs_classic": "pbs.N",
    "lsf": "lsf.J",
    "cobalt": "cobalt.jobname",
}
"""Executor -> the custom attribute that names the job. PSI/J 0.9's templates render
``job.name``, which its ``Job`` does not have, so ``JobSpec.name`` never reaches the
scheduler; this attribute does."""

PREFIXES: dict[str, str] = {
    "slurm": "slurm",
    "pbs": "pbs",
    "pbs_classic": "pbs",
    "lsf": "lsf",
    "cobalt": "cobalt",
}
"""Executor -> the prefix of the custom attributes its template renders."""

NO_ALLOCATION = frozenset({"local"})
"""Executors that run blocks on this host: no nodes, cores or memory to ask for."""


def is_set(option: str, value: Any) -> bool:
    """Whether ``value`` of ``option`` asks the scheduler for something (its default
    does not)."""
    if option == "exclusive":
        return value is True
    if option == "scheduler_options":
        return bool(value)
    return value is not None


def check_supported(owner: str, executor: str, values: dict[str, Any]) -> None:
    """Raise :class:`~plait.errors.ConfigError` for the first option of ``values`` that
    is set but that PSI/J executor ``executor`` cannot express, and for
    ``scheduler_options`` keys it would not render."""
    rendered = RENDERED.get(executor)
    for option in SCHEDULER_OPTIONS:
        value = values.get(option)
        if not is_set(option, value):
            continue
        supported = (
            option in rendered
            if rendered is not None
            else option in STANDARD or option == "scheduler_options"
        )
        if not supported:
            raise ConfigError(
                f"{owner}.{option}={value!r}: PSI/J's {executor!r} executor cannot express "
                f"{option}",
                hint=_hint(executor, option),
                option=option,
                executor=executor,
            )
    _check_custom_attributes(owner, executor, values.get("scheduler_options") or {})


def _hint(executor: str, option: str) -> str:
    if executor in NO_ALLOCATION:
        return f"the {executor!r} executor runs blocks on this host: remove {option}"
    prefix = PREFIXES.get(executor)
    if prefix is not None and option in ("qos", "constraint"):
        return (
            f"pass the {executor} directive as a custom attribute instead, e.g. "
            f'scheduler_options = {{"{prefix}.<directive>" = "<value>"}}'
        )
    if executor not in RENDERED:
        return (
            f"plait does not know how PSI/J's {executor!r} executor renders {option}; pass it "
            f'as a custom attribute if it renders them, e.g. scheduler_options = {{"{executor}.'
            f'{option}" = "<value>"}}'
        )
    return f"remove {option}, or use an executor that supports it (slurm supports every option)"


def _check_custom_attributes(owner: str, executor: str, options: dict[str, Any]) -> None:
    prefix = PREFIXES.get(executor)
    for key, value in options.items():
        head, dot, tail = key.partition(".")
        if not (dot and head and tail):
            example = prefix or "<scheduler>"
            raise ConfigError(
                f"{owner}.scheduler_options: key {key!r} is not a PSI/J custom attribute name",
                hint=f'name keys "<scheduler>.<directive>", e.g. "{example}.qos"',
                option="scheduler_options",
            )
        if prefix is not None and head.lower() != prefix:
            raise ConfigError(
                f"{owner}.scheduler_options: PSI/J's {executor!r} executor renders only "
                f"'{prefix}.*' custom attributes, not {key!r}",
                hint=f'use "{prefix}.{tail}"',
                option="scheduler_options",
            )
        if (
            not isinstance(value, (str, int, float))
            or isinstance(value, bool)
            or "\n" in str(value)
        ):
            raise ConfigError(
                f"{owner}.scheduler_options[{key!r}]={value!r} must be a str or a number on "
                "one line",
                option="scheduler_options",
            )
