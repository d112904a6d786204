"""The generic launchers: ``simple``, ``single-node`` and ``wrapped``.

A launcher turns the command that starts an executor's workers into the launch line a
provider runs in each block (``interface-specs/launcher.md``). These three need nothing
but bash, so any provider can use them; the requirement ids (``LNC-...``) in the
docstrings are the spec's.
"""

from __future__ import annotations

import logging
import shlex
from typing import ClassVar

import attrs

from plait.errors import ConfigError
from plait.interfaces import Launcher
from plait.providers import check_counts
from plait.validators import AttrsField

logger = logging.getLogger(__name__)


def _warn_single_copy(owner: str, tasks_per_node: int, nodes_per_block: int) -> None:
    if tasks_per_node * nodes_per_block > 1:
        logger.warning(
            "%s starts one copy of the command, not tasks_per_node * nodes_per_block = %d; "
            "use the single-node launcher for one copy per task slot",
            owner,
            tasks_per_node * nodes_per_block,
        )


@attrs.frozen
class SimpleLauncher(Launcher):
    """Runs the command once, as is: the launch line *is* the command.

    Use it when the command starts everything itself (a worker pool that forks its own
    workers, an ``mpiexec`` line written by hand). ``tasks_per_node`` and
    ``nodes_per_block`` are checked (LNC-002) but do not change the line: there is one
    copy, so the launcher does not declare ``fan_out``.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset()
    maturity = "alpha"

    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """``command`` itself (``:`` for an empty command); the counts are only checked."""
        check_counts(type(self).__name__, tasks_per_node, nodes_per_block)
        _warn_single_copy(type(self).__name__, tasks_per_node, nodes_per_block)
        # an empty command means "do nothing, successfully"; ":" says so in a non-empty line
        return command if command.strip() else ":"


_FAN_OUT = """\
(
_plait_command={command}
_plait_pids=()
for ((_plait_rank = 0; _plait_rank < {copies}; _plait_rank++)); do
  PLAIT_WORKER_RANK=$_plait_rank "${{BASH:-bash}}" -c "$_plait_command" &
  _plait_pids+=("$!")
done
_plait_status=0
for _plait_pid in "${{_plait_pids[@]}}"; do
  _plait_code=0
  wait "$_plait_pid" || _plait_code=$?
  if [ "$_plait_status" -eq 0 ]; then _plait_status=$_plait_code; fi
done
exit "$_plait_status"
)"""


@attrs.frozen
class SingleNodeLauncher(Launcher):
    """Runs ``tasks_per_node * nodes_per_block`` copies of the command at once on the node
    that runs the line, and waits for all of them.

    Each copy is ``bash -c COMMAND`` with the command passed as one argument, so its
    quoting, variables and ``$(...)`` mean what they mean in ``bash -c`` (LNC-004); the
    copies inherit the line's working directory and environment (LNC-005) plus
    ``PLAIT_WORKER_RANK`` (0, 1, ...), and write to the line's stdout and stderr
    (LNC-009). The line ends when the last copy has ended (LNC-006) and exits with 0 when
    every copy did, else with the status of the first copy (by rank) that failed, so with
    N when all failing copies exit with N (LNC-007, LNC-008). All copies run on one
    node, also when ``nodes_per_block > 1`` (LNC-002 allows it): pair it with a
    provider whose blocks are one node, such as ``local``. Capability ``fan_out``
    (LNC-101).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"fan_out"})
    maturity = "alpha"

    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """A subshell that starts ``tasks_per_node * nodes_per_block`` copies of
        ``bash -c COMMAND`` in the background, waits for each and exits with the first
        failing copy's status (0 when none failed)."""
        check_counts(type(self).__name__, tasks_per_node, nodes_per_block)
        return _FAN_OUT.format(
            command=shlex.quote(command), copies=tasks_per_node * nodes_per_block
        )


def _single_line(instance: object, attribute: AttrsField, value: object) -> None:
    if not isinstance(value, str):
        raise ConfigError(
            f"{type(instance).__name__}.{attribute.name}={value!r} must be a str",
            option=attribute.name,
        )
    if "\n" in value or "\r" in value:
        raise ConfigError(
            f"{type(instance).__name__}.{attribute.name}={value!r} spans several lines",
            hint="write the prefix on one line; put setup commands in the provider's worker_init",
            option=attribute.name,
        )


@attrs.frozen
class WrappedLauncher(Launcher):
    """Runs the command once behind a prefix, such as a container command.

    The line is ``PREPEND bash -c COMMAND``: the command reaches the prefix as one
    argument, so it keeps its meaning whatever quoting it holds (LNC-004), and the
    prefix needs a ``bash`` on its ``PATH`` (inside the container). For example
    ``prepend="apptainer exec --bind /scratch image.sif"`` gives
    ``apptainer exec --bind /scratch image.sif bash -c '...'``. ``prepend`` is shell
    text on one line, used as written (quote its own arguments); empty, the command runs
    in a plain ``bash -c``. Like ``simple`` it starts one copy, whatever
    ``tasks_per_node`` is, so it does not declare ``fan_out``; the prefix must pass the
    command's exit status, stdout and stderr through (container runtimes do).
    """

    prepend: str = attrs.field(default="", validator=_single_line)

    capabilities: ClassVar[frozenset[str]] = frozenset()
    maturity = "alpha"

    def __call__(self, command: str, tasks_per_node: int, nodes_per_block: int) -> str:
        """``PREPEND bash -c COMMAND`` (``bash -c COMMAND`` without a prefix)."""
        check_counts(type(self).__name__, tasks_per_node, nodes_per_block)
        _warn_single_copy(type(self).__name__, tasks_per_node, nodes_per_block)
        prefix = self.prepend.strip()
        line = f"bash -c {shlex.quote(command)}"
        return f"{prefix} {line}" if prefix else line
