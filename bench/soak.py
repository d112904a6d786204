"""Soak: a million no-op tasks through plait-htex, watching memory for leaks.

Runs ``--tasks`` (1,000,000) no-op tasks (:func:`plait.cli.perf.noop`) through plait
with the plait-htex executor (``max_workers_per_node=--workers``, one local block: the
configuration ``bench/peers.py`` uses) in waves of ``--chunk`` (10,000): submit a wave,
wait for every result, drop the futures, so live futures never dominate memory. Every
``--sample-every`` (100,000) tasks it records the resident set size (RSS) of

* the submit side: this process (after a ``gc.collect()``);
* the interchange: the child process whose command line contains
  ``plait_htex.interchange``;
* the other child processes together (managers, worker pools),

and the throughput of the last interval. It prints a table of tasks done against RSS,
then the growth of each from the first sample to the end. Flat lines mean no per-task
leak; a steady climb of N MB over M tasks is about N*2**20/M bytes kept per task.

Usage::

    python bench/soak.py [--tasks 1000000] [--sample-every 100000] [--chunk 10000]
                         [--workers 2]
    python bench/soak.py --tasks 20000 --sample-every 5000      # quick mode
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from typing import Any

from bench_common import plait_htex_config, plait_plugins, version

WARMUP_TASKS = 200
INTERCHANGE_MARK = "plait_htex.interchange"
MB = 1024 * 1024


def htex_missing() -> str | None:
    """Why plait-htex cannot run here, or None when it can."""
    try:
        from plait.plugins import registry
    except ImportError:
        return "plait is not installed: pip install -e core"
    if "htex" not in registry("executor"):
        return (
            "plait-htex is not installed (no 'htex' executor is registered): "
            "pip install -e plugins/htex, see bench/README.md"
        )
    return None


class Sampler:
    """RSS of this process, of the interchange child and of the other children."""

    def __init__(self) -> None:
        import psutil

        self.psutil = psutil
        self.me = psutil.Process()
        self.interchange: Any = None

    def _find_interchange(self, children: list[Any]) -> Any:
        if self.interchange is not None and self.interchange.is_running():
            return self.interchange
        for child in children:
            try:
                if any(INTERCHANGE_MARK in part for part in child.cmdline()):
                    self.interchange = child
                    return child
            except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                continue
        return None

    def sample(self) -> dict[str, float | None]:
        gc.collect()
        children = self.me.children(recursive=True)
        interchange = self._find_interchange(children)
        others = 0
        for child in children:
            if interchange is not None and child.pid == interchange.pid:
                continue
            try:
                others += child.memory_info().rss
            except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                continue
        return {
            "submit_mb": self.me.memory_info().rss / MB,
            "interchange_mb": None if interchange is None else interchange.memory_info().rss / MB,
            "others_mb": others / MB,
        }


def run_wave(app: Any, size: int, expected: Any) -> None:
    futures = [app(i) for i in range(size)]
    for future in futures:
        result = future.result()
        if result != expected:
            raise RuntimeError(f"a no-op task returned {result!r}, not {expected!r}")


def soak(tasks: int, sample_every: int, chunk: int, workers: int) -> list[dict[str, Any]]:
    """Run the waves; one row per sample (the first after warm-up, at 0 tasks)."""
    import plait
    from plait.cli.perf import RESULT, noop

    app = plait.python_app(noop)
    sampler = Sampler()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="plait-soak-") as run_dir:
        with plait.load(plait_htex_config(workers, run_dir)):
            run_wave(app, WARMUP_TASKS, RESULT)
            done = 0
            last_t = time.perf_counter()
            rows.append({"tasks": 0, "rate": None, **sampler.sample()})
            print(format_row(rows[-1]), flush=True)
            next_sample = min(sample_every, tasks)
            while done < tasks:
                size = min(chunk, next_sample - done)
                run_wave(app, size, RESULT)
                done += size
                if done == next_sample:
                    now = time.perf_counter()
                    rate = (done - rows[-1]["tasks"]) / (now - last_t)
                    rows.append({"tasks": done, "rate": rate, **sampler.sample()})
                    print(format_row(rows[-1]), flush=True)
                    last_t = time.perf_counter()  # sampling time is not task time
                    next_sample = min(next_sample + sample_every, tasks)
        plait.clear()
    return rows


# --- report ------------------------------------------------------------------------------


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


HEADER = (
    f"{'tasks done':>12} {'submit side MB':>15} {'interchange MB':>15} "
    f"{'other children MB':>18} {'interval tasks/s':>17}"
)


def format_row(row: dict[str, Any]) -> str:
    rate = "warm-up" if row["rate"] is None else f"{row['rate']:,.0f}"
    return (
        f"{row['tasks']:>12,} {_mb(row['submit_mb']):>15} {_mb(row['interchange_mb']):>15} "
        f"{_mb(row['others_mb']):>18} {rate:>17}"
    )


def growth(rows: list[dict[str, Any]], sample_every: int) -> list[str]:
    """Growth of each RSS from the first sample at ``sample_every`` tasks to the end."""
    base = next((r for r in rows if r["tasks"] >= sample_every), None)
    last = rows[-1]
    if base is None or base is last:
        return ["growth: needs at least two samples after warm-up (raise --tasks)"]
    span = last["tasks"] - base["tasks"]
    lines = [f"growth from {base['tasks']:,} to {last['tasks']:,} tasks:"]
    for key, name in (
        ("submit_mb", "submit side"),
        ("interchange_mb", "interchange"),
        ("others_mb", "other children"),
    ):
        if base[key] is None or last[key] is None:
            lines.append(f"  {name:<15} n/a (process not found)")
            continue
        delta = last[key] - base[key]
        per_task = delta * MB / span
        percent = 100.0 * delta / base[key] if base[key] else 0.0
        lines.append(f"  {name:<15} {delta:+8.1f} MB ({percent:+.1f}%), {per_task:+.1f} bytes/task")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1_000_000, help="tasks in all")
    parser.add_argument(
        "--sample-every", type=int, default=100_000, help="tasks between RSS samples"
    )
    parser.add_argument(
        "--chunk", type=int, default=10_000, help="tasks per wave (submit, then wait)"
    )
    parser.add_argument("--workers", type=int, default=2, help="plait-htex workers")
    args = parser.parse_args(argv)
    if min(args.tasks, args.sample_every, args.chunk, args.workers) < 1:
        parser.error("--tasks, --sample-every, --chunk and --workers must be at least 1")
    missing = htex_missing()
    if missing is not None:
        print(f"soak: cannot run: {missing}", file=sys.stderr)
        return 2
    try:
        import psutil  # noqa: F401
    except ImportError:
        print("soak: cannot run: psutil is not installed: pip install psutil", file=sys.stderr)
        return 2

    print(
        f"soak: {args.tasks:,} no-op tasks through plait-htex ({args.workers} workers, one "
        f"local block) in waves of {args.chunk:,}, RSS sampled every {args.sample_every:,}"
    )
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"plait {version('plait')}, plait-htex {version('plait-htex')}, "
        f"pyzmq {version('pyzmq')}"
    )
    print(f"plait plugins loaded: {plait_plugins()}")
    print()
    print(HEADER)
    print("-" * len(HEADER))
    start = time.perf_counter()
    rows = soak(args.tasks, args.sample_every, args.chunk, args.workers)
    seconds = time.perf_counter() - start
    print()
    print(f"{args.tasks:,} tasks in {seconds:.1f} s ({args.tasks / seconds:,.0f} tasks/s overall)")
    print("\n".join(growth(rows, args.sample_every)))
    if rows[-1]["interchange_mb"] is None:
        print(
            f"note: no child process with {INTERCHANGE_MARK!r} in its command line was found",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
