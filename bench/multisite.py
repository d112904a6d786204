"""Multi-site scheduling: the makespan of one workflow over two executors of unequal size.

``--tasks`` (2,000) tasks of ``--duration`` (20 ms, ``time.sleep``) go to an app that may
run on two executors, ``small`` (``--small``, 1 worker) and ``big`` (``--big``, 3
workers). Each row is a fresh kernel with both executors:

``round-robin``   ``executor_policy = "round-robin"`` (the default): the executors in
                  turn, so half the tasks queue on the small one;
``least-loaded``  ``executor_policy = "least-loaded"``: each task where it is expected to
                  finish first (outstanding tasks, observed durations, capacity);
``big only``      the app pinned to ``big`` (``executors=["big"]``): the best one can do
                  without spreading.

The makespan is from the first submit to the last result, after a warm-up that waits
for every worker of both executors (so executor start-up is not in it). Tasks per
executor are counted from the ``launched`` task events. The last column is each row's
makespan divided by round-robin's (below 1 is faster). With 1 and 3 workers the ideal
is 0.5 for least-loaded (all 4 workers busy to the end) and 0.67 for big only.

Executors (``--executor``): ``htex`` (default) is plait-htex with the local provider, one
block each (``max_workers_per_node`` 1 and 3, ``cores_per_worker`` 0.25 so that a 2-core
machine still gets 3 workers); start-up (1-3 s per executor) happens
before the clock starts, so it does not dominate. ``threads`` is two plait-threads pools
(1 and 3 threads): no worker processes, for machines where process start-up or CPU
contention blurs the figures (sleeping tasks share the GIL harmlessly).

Usage::

    python bench/multisite.py [--tasks 2000] [--duration 0.02] [--small 1] [--big 3]
                              [--executor htex|threads] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import sys
import tempfile
import threading
import time
from typing import Any

from bench_common import plait_plugins, version

from plait import hookimpl

ROWS = ("round-robin", "least-loaded", "big only")


class LaunchCounter:
    """A plugin counting the ``launched`` events per executor."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()

    @hookimpl
    def plait_task_event(self, event: Any) -> None:
        if event.state.value == "launched" and event.name == "sleep":
            with self.lock:
                self.counts[event.executor] += 1


def config(args: argparse.Namespace, policy: str, run_dir: str) -> Any:
    import plait

    if args.executor == "threads":
        executors = [
            {"kind": "threads", "label": "small", "max_threads": args.small},
            {"kind": "threads", "label": "big", "max_threads": args.big},
        ]
    else:
        block = {"kind": "local", "init_blocks": 1, "min_blocks": 1, "max_blocks": 1}
        executors = [
            {
                "kind": "htex",
                "label": label,
                "max_workers_per_node": workers,
                "cores_per_worker": 0.25,  # sleeping tasks: do not cap workers at the cores
                "provider": block,
            }
            for label, workers in (("small", args.small), ("big", args.big))
        ]
    return plait.Config.from_dict(
        {
            "executors": executors,
            "executor_policy": policy,
            "strategy": "none",
            "run_dir": run_dir,
            "enable_development": ["htex", "local"],
        }
    )


def warm_up(args: argparse.Namespace) -> None:
    """Run tasks on each executor until all its workers have answered."""
    import plait
    from plait.cli.perf import noop

    for label, workers in (("small", args.small), ("big", args.big)):
        app = plait.python_app(noop, executors=[label])
        for future in [app() for _ in range(20 * workers)]:
            future.result()
        if args.executor == "htex":  # every worker has connected, not only the first
            pids = plait.python_app(os.getpid, executors=[label])
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                seen = {f.result() for f in [pids() for _ in range(10 * workers)]}
                if len(seen) >= workers:
                    break


def measure(args: argparse.Namespace, row: str) -> dict[str, Any]:
    """The makespan of ``args.tasks`` sleeping tasks in a fresh kernel."""
    import plait
    from plait.plugins import get_plugin_system

    counter = LaunchCounter()
    pm = get_plugin_system().pm
    pm.register(counter, name="bench-multisite-counter")
    policy = "least-loaded" if row == "least-loaded" else "round-robin"
    executors = ["big"] if row == "big only" else ["small", "big"]
    app = plait.python_app(time.sleep, executors=executors)
    try:
        with tempfile.TemporaryDirectory(prefix="plait-multisite-") as run_dir:
            with plait.load(config(args, policy, run_dir)):
                warm_up(args)
                start = time.perf_counter()
                futures = [app(args.duration) for _ in range(args.tasks)]
                for future in futures:
                    future.result()
                seconds = time.perf_counter() - start
            plait.clear()
    finally:
        pm.unregister(name="bench-multisite-counter")
    return {"row": row, "seconds": seconds, "tasks": dict(counter.counts)}


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    workers = args.small + args.big
    ideal = args.tasks * args.duration / workers
    lines = [
        f"multisite: {args.tasks:,} tasks of {args.duration * 1000:g} ms over two "
        f"{args.executor} executors, small ({args.small}) and big ({args.big} workers); "
        f"ideal makespan {ideal:.2f} s",
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"plait {version('plait')}, plait-htex {version('plait-htex')}, "
        f"plait-threads {version('plait-threads')}; plugins: {plait_plugins()}",
        "",
        f"{'row':<14} {'makespan s':>10} {'small':>7} {'big':>7} {'vs round-robin':>15}",
    ]
    base = next(r["seconds"] for r in results if r["row"] == "round-robin")
    for r in results:
        tasks = r["tasks"]
        lines.append(
            f"{r['row']:<14} {r['seconds']:>10.2f} {tasks.get('small', 0):>7} "
            f"{tasks.get('big', 0):>7} {r['seconds'] / base:>15.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks per row (2000)")
    parser.add_argument("--duration", type=float, default=0.02, help="seconds per task (0.02)")
    parser.add_argument("--small", type=int, default=1, help="workers of 'small' (1)")
    parser.add_argument("--big", type=int, default=3, help="workers of 'big' (3)")
    parser.add_argument("--executor", choices=("htex", "threads"), default="htex")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    import warnings

    from plait.errors import PlaitMaturityWarning
    from plait.plugins import registry

    warnings.filterwarnings("ignore", category=PlaitMaturityWarning)
    if args.executor == "htex" and "htex" not in registry("executor"):
        print("plait-htex is not installed: use --executor threads", file=sys.stderr)
        return 2
    results = []
    print("running:", file=sys.stderr)
    for row in ROWS:
        print(f"  {row} ...", end="", flush=True, file=sys.stderr)
        results.append(measure(args, row))
        print(f" {results[-1]['seconds']:.2f} s", file=sys.stderr)
    print(json.dumps(results, indent=2) if args.json else table(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
