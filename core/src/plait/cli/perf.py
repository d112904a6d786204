"""``plait perf``: how many no-op tasks per second a configuration runs (as parsl-perf).

The first iteration runs a small sizing batch (:data:`START_TASKS` no-op apps) to
estimate the rate; every later batch is sized from the last measured rate to take
about ``--time`` seconds. As in parsl-perf's ``estimate`` mode, a batch that finishes in
less than :data:`SHORT_FRACTION` of the target only re-sizes the next one (the rate was
underestimated) and does not count; ``--iterate N`` batches that ran long enough are
measured, then the best rate is reported. Each batch submits all its tasks, then waits
for every result and checks it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from plait.errors import PlaitError

START_TASKS = 100
"""Tasks in the first (sizing) iteration."""

SHORT_FRACTION = 0.75
"""A batch shorter than this fraction of ``--time`` only re-sizes the next one."""

MAX_RESIZES = 5
"""Re-sizing batches allowed before a short batch counts anyway."""

RESULT = 7
"""What the no-op app returns, checked for every task."""


def noop(*args: Any, **kwargs: Any) -> int:
    """The task: does nothing and returns :data:`RESULT`.

    A module-level function, so process and remote executors can import it by name;
    it accepts (and ignores) any arguments, including ``resource_specification``.
    The benchmarks in ``bench/`` use it as their no-op too.
    """
    return RESULT


def parse_resources(value: str | None) -> Any:
    """The ``--resources`` JSON object as a ``ResourceSpecification`` (None if not given)."""
    if value is None:
        return None
    from plait.interfaces import ResourceSpecification

    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"not valid JSON ({exc}): {value!r}", param_hint="--resources"
        ) from exc
    if not isinstance(data, dict):
        raise click.BadParameter(
            f"must be a JSON object such as '{{\"cores\": 1}}', got {value!r}",
            param_hint="--resources",
        )
    try:
        return ResourceSpecification.from_dict(data)
    except PlaitError as exc:
        raise click.BadParameter(str(exc), param_hint="--resources") from exc


def run_batch(app: Any, tasks: int, resources: Any) -> dict[str, Any]:
    """Submit ``tasks`` no-op apps, wait for all of them; the figures of that batch."""
    start = time.perf_counter()
    if resources is None:
        futures = [app() for _ in range(tasks)]
    else:
        futures = [app(resource_specification=resources) for _ in range(tasks)]
    submitted = time.perf_counter()
    completed = 0
    for future in futures:
        try:
            result = future.result()
        except PlaitError:
            raise
        except Exception as exc:
            raise click.ClickException(f"a no-op task failed: {type(exc).__name__}: {exc}") from exc
        if result != RESULT:
            raise click.ClickException(f"a no-op task returned {result!r}, not {RESULT!r}")
        completed += 1
    seconds = time.perf_counter() - start
    del futures
    return {
        "tasks": tasks,
        "completed": completed,
        "seconds": seconds,
        "submit_seconds": submitted - start,
        "rate": tasks / seconds if seconds > 0 else float("inf"),
    }


def measure(
    app: Any,
    target: float,
    iterate: int,
    resources: Any,
    report: Callable[[dict[str, Any]], None],
) -> list[dict[str, Any]]:
    """Run the sizing batch, then batches sized to ``target`` seconds until ``iterate``
    of them ran long enough; ``report(row)`` is called after each batch."""
    rows: list[dict[str, Any]] = []
    tasks = START_TASKS
    kind = "sizing"
    timed = resizes = 0
    while timed < iterate:
        row = {"iteration": len(rows) + 1, "kind": kind, **run_batch(app, tasks, resources)}
        if kind != "sizing":
            if row["seconds"] < SHORT_FRACTION * target and resizes < MAX_RESIZES:
                row["kind"] = "resizing"
                resizes += 1
            else:
                row["kind"] = "timed"
                timed += 1
        rows.append(row)
        report(row)
        tasks = max(1, int(target * row["rate"]))
        kind = "next"
    return rows


def _executors(kernel: Any) -> dict[str, str]:
    return {
        label: f"{type(ex).__module__}.{type(ex).__qualname__}"
        for label, ex in kernel.executors.items()
    }


def _row_text(row: dict[str, Any]) -> str:
    return (
        f"{row['iteration']:>9} {row['kind']:<9} {row['tasks']:>12,} {row['seconds']:>10.3f} "
        f"{row['rate']:>12,.1f} {row['submit_seconds']:>10.3f}"
    )


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A TOML configuration file (default: plait.load()'s local default).",
)
@click.option(
    "--time",
    "target",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Target duration of one iteration.",
)
@click.option(
    "--iterate",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Iterations sized to --time to measure, after the sizing batch.",
)
@click.option(
    "--resources",
    default=None,
    metavar="JSON",
    help="Resource specification for every task, as a JSON object: '{\"cores\": 1}'.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def perf(
    config_file: Path | None, target: float, iterate: int, resources: str | None, as_json: bool
) -> None:
    """Measure the no-op task throughput of a configuration (tasks/s), like parsl-perf.

    Runs a sizing batch of 100 no-op apps, then batches sized from the measured rate to
    take about --time seconds each. A batch finishing in under 3/4 of --time only
    re-sizes the next one; --iterate such batches are measured. Prints each batch's
    tasks, seconds and tasks/s, then the best rate.
    """
    import plait

    spec = parse_resources(resources)
    try:
        config = None if config_file is None else plait.Config.from_file(config_file)
    except PlaitError as exc:
        raise click.ClickException(str(exc)) from exc

    def report(row: dict[str, Any]) -> None:
        if not as_json:
            click.echo(_row_text(row))

    app = plait.python_app(noop)
    try:
        with plait.load(config) as kernel:
            executors = _executors(kernel)
            if not as_json:
                names = ", ".join(f"{label} ({cls})" for label, cls in executors.items())
                click.echo(
                    f"plait perf: executors {names}; target {target:g} s per iteration, "
                    f"{iterate} iteration(s)"
                )
                click.echo(
                    f"{'iteration':>9} {'kind':<9} {'tasks':>12} {'seconds':>10} "
                    f"{'tasks/s':>12} {'submit s':>10}"
                )
            rows = measure(app, target, iterate, spec, report)
    except PlaitError as exc:
        raise click.ClickException(str(exc)) from exc

    best = max((r for r in rows if r["kind"] == "timed"), key=lambda r: r["rate"])
    if as_json:
        click.echo(
            json.dumps(
                {
                    "config": None if config_file is None else str(config_file),
                    "executors": executors,
                    "target_seconds": target,
                    "iterate": iterate,
                    "resources": None if resources is None else json.loads(resources),
                    "iterations": rows,
                    "best_rate": best["rate"],
                    "plait_version": plait.__version__,
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"best: {best['rate']:,.1f} tasks/s (iteration {best['iteration']}: "
        f"{best['tasks']:,} tasks in {best['seconds']:.3f} s)"
    )
