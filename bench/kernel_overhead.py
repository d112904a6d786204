"""Kernel overhead: no-op python apps through plait, Parsl and a bare thread pool.

Every system gets the same two worker threads, so what differs is the cost of the
dataflow kernel around each task. For each system, in one process:

* throughput: submit ``--tasks`` no-op apps, then wait for all of them (tasks/s);
* latency: ``--latency-tasks`` sequential round trips, each submitting one app and
  waiting for its result (median, milliseconds).

Systems: ``concurrent.futures.ThreadPoolExecutor`` (the ceiling: no kernel at all),
plait with the plait-threads executor (default ``Config``, then with
``initialize_logging=False``), and Parsl's ``ThreadPoolExecutor`` with a minimal
configuration (no usage tracking, no monitoring, no log file, no scaling strategy;
``--parsl-logging`` adds a run with Parsl's default DEBUG log file). Ratios are
against the minimal Parsl run. Parsl is needed only here: see ``bench/README.md``.

Usage::

    python bench/kernel_overhead.py [--tasks 50000] [--latency-tasks 500] [--skip-parsl]
                                    [--parsl-logging] [--threads 2]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from importlib import metadata
from typing import Any

import attrs

WARMUP_TASKS = 200

Submit = Callable[[], "concurrent.futures.Future[Any]"]
"""Submits one no-op task and returns its future."""


@attrs.frozen
class Result:
    """One system's figures."""

    name: str
    tasks: int
    seconds: float
    latencies: list[float]

    @property
    def tasks_per_second(self) -> float:
        return self.tasks / self.seconds

    @property
    def median_latency_ms(self) -> float:
        return statistics.median(self.latencies) * 1000.0


def measure(name: str, submit: Submit, tasks: int, latency_tasks: int) -> Result:
    """Throughput of ``tasks`` submitted at once, then ``latency_tasks`` round trips."""
    for future in [submit() for _ in range(WARMUP_TASKS)]:
        future.result()
    gc.collect()

    start = time.perf_counter()
    futures = [submit() for _ in range(tasks)]
    for future in futures:
        future.result()
    seconds = time.perf_counter() - start
    del futures
    gc.collect()

    latencies = []
    for _ in range(latency_tasks):
        t0 = time.perf_counter()
        submit().result()
        latencies.append(time.perf_counter() - t0)
    return Result(name, tasks, seconds, latencies)


# --- the systems -----------------------------------------------------------------------


def noop() -> None:
    """The task: does nothing, so only the per-task overhead is measured."""


@contextmanager
def raw_pool(threads: int) -> Iterator[Submit]:
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        yield lambda: pool.submit(noop)


@contextmanager
def plait_kernel(threads: int, initialize_logging: bool) -> Iterator[Submit]:
    import plait
    from plait_threads import ThreadPoolExecutor

    app = plait.python_app(noop)
    with tempfile.TemporaryDirectory(prefix="plait-bench-") as run_dir:
        config = plait.Config(
            executors=[ThreadPoolExecutor(label="threads", max_threads=threads)],
            run_dir=run_dir,
            initialize_logging=initialize_logging,
        )
        with plait.load(config):
            yield app


@contextmanager
def parsl_kernel(threads: int, initialize_logging: bool = False) -> Iterator[Submit]:
    import parsl
    from parsl.config import Config
    from parsl.executors.threads import ThreadPoolExecutor

    app = parsl.python_app(noop)
    with tempfile.TemporaryDirectory(prefix="parsl-bench-") as run_dir:
        config = Config(
            executors=[ThreadPoolExecutor(label="threads", max_threads=threads)],
            run_dir=run_dir,
            usage_tracking=0,
            monitoring=None,
            initialize_logging=initialize_logging,
            strategy="none",
        )
        with parsl.load(config):
            yield app
        parsl.clear()


def run(
    name: str, system: AbstractContextManager[Submit], tasks: int, latency_tasks: int
) -> Result:
    print(f"  {name} ...", end="", flush=True, file=sys.stderr)
    with system as submit:
        result = measure(name, submit, tasks, latency_tasks)
    print(f" {result.seconds:.1f} s", file=sys.stderr)
    return result


# --- report ------------------------------------------------------------------------------


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def table(results: list[Result], threads: int, tasks: int, latency_tasks: int) -> str:
    lines = [
        f"kernel overhead: {tasks:,} no-op python apps (submit all, then wait all) and "
        f"{latency_tasks:,} sequential round trips; {threads} worker threads",
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs; plait {version('plait')}, "
        f"plait-threads {version('plait-threads')}, parsl {version('parsl')}",
        "",
        f"{'system':<48} {'tasks/s':>10} {'wall s':>8} {'median latency ms':>18}",
        "-" * 87,
    ]
    for r in results:
        lines.append(
            f"{r.name:<48} {r.tasks_per_second:>10,.0f} {r.seconds:>8.2f} "
            f"{r.median_latency_ms:>18.3f}"
        )
    by_name = {r.name: r for r in results}
    for base_name in (PARSL, PARSL_LOG):
        base = by_name.get(base_name)
        if base is None:
            continue
        lines.append("")
        lines.append(f"ratio to {base_name}:")
        for name in (PLAIT, PLAIT_NO_LOG):
            r = by_name[name]
            lines.append(
                f"  {name:<48} throughput {r.tasks_per_second / base.tasks_per_second:5.1f}x"
                f"   median latency {r.median_latency_ms / base.median_latency_ms:5.2f}x"
                " (lower is better)"
            )
    return "\n".join(lines)


RAW = "concurrent.futures.ThreadPoolExecutor (ceiling)"
PLAIT = "plait + plait-threads (default Config)"
PLAIT_NO_LOG = "plait + plait-threads (initialize_logging=False)"
PARSL = "parsl ThreadPoolExecutor"
PARSL_LOG = "parsl ThreadPoolExecutor (initialize_logging=True)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50_000, help="tasks for throughput")
    parser.add_argument(
        "--latency-tasks", type=int, default=500, help="sequential round trips for latency"
    )
    parser.add_argument("--threads", type=int, default=2, help="worker threads for every system")
    parser.add_argument("--skip-parsl", action="store_true", help="do not run Parsl")
    parser.add_argument(
        "--parsl-logging",
        action="store_true",
        help="also run Parsl with its default logging (a DEBUG log file in the run dir)",
    )
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.latency_tasks < 1 or args.threads < 1:
        parser.error("--tasks, --latency-tasks and --threads must be at least 1")
    if not args.skip_parsl:
        try:
            import parsl  # noqa: F401
        except ImportError:
            parser.error("parsl is not installed: see bench/README.md, or pass --skip-parsl")

    n, lat, threads = args.tasks, args.latency_tasks, args.threads
    print("running:", file=sys.stderr)
    results = [
        run(RAW, raw_pool(threads), n, lat),
        run(PLAIT, plait_kernel(threads, initialize_logging=True), n, lat),
        run(PLAIT_NO_LOG, plait_kernel(threads, initialize_logging=False), n, lat),
    ]
    if not args.skip_parsl:
        results.append(run(PARSL, parsl_kernel(threads), n, lat))
        if args.parsl_logging:
            results.append(run(PARSL_LOG, parsl_kernel(threads, initialize_logging=True), n, lat))
    print(table(results, threads, n, lat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
