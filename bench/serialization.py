"""Serialization costs: each serializer's per-task overhead for small payloads, and a
pipeline passing a large numpy array through chained plait-htex tasks with and without
ProxyStore.

Part 1 times ``SerializerChain.dumps`` + ``loads`` of a small task payload per
serializer (microseconds per round trip), and the tasks/s of plait-htex with each
serializer alone. Part 2 runs ``--stages`` (10) chained tasks that each add 1 to a
``--mb`` (100) MB numpy array, once with the default serializers and once with
ProxyStore first (file connector, objects over 1 MB go to the store), and reports the
bytes the interchange received (task frames) and the wall time.

Run from the repository root in the benchmark environment (see bench/README.md):
``.venv-bench/bin/python bench/serialization.py``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench_common import plait_plugins, version

SMALL = {"id": 7, "name": "sample", "values": list(range(20)), "weight": 0.5}


def add_one(array: Any) -> Any:
    """One pipeline stage: a new array, every element plus one."""
    return array + 1


def echo(value: Any) -> Any:
    """The small-payload task."""
    return value


def micro(name: str, rounds: int) -> float | None:
    """Microseconds per dumps+loads of SMALL with serializer ``name`` alone."""
    from plait.serialization import SerializerChain

    try:
        chain = SerializerChain([name], check_maturity=False)
    except Exception as exc:
        print(f"  {name}: not available ({exc})", file=sys.stderr)
        return None
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(rounds):
            chain.loads(chain.dumps(SMALL))
        times.append((time.perf_counter() - start) / rounds * 1e6)
    return statistics.median(times)


def htex_config(run_dir: str, serializers: list[Any]) -> Any:
    import plait

    htex = {"kind": "htex", "max_workers_per_node": 2, "serializers": serializers}
    return plait.Config(executors=[htex], run_dir=run_dir, error_reporters=[])


def throughput(name: str, tasks: int) -> float | None:
    """Tasks/s of plait-htex passing SMALL through ``echo`` with ``name`` alone."""
    import plait

    with tempfile.TemporaryDirectory(prefix="plait-bench-") as run_dir:
        try:
            config = htex_config(run_dir, [name, "cloudpickle"])
        except Exception as exc:
            print(f"  {name}: not available ({exc})", file=sys.stderr)
            return None
        app = plait.python_app(serializers=[name, "cloudpickle"])(echo)
        with plait.load(config):
            for f in [app(SMALL) for _ in range(200)]:
                f.result()
            start = time.perf_counter()
            for f in [app(SMALL) for _ in range(tasks)]:
                f.result()
            return tasks / (time.perf_counter() - start)


def pipeline(mb: int, stages: int, proxystore: bool) -> tuple[float, int, int]:
    """(seconds, interchange task bytes, array bytes) of the chained stages."""
    import numpy

    import plait
    from plait_htex import HighThroughputExecutor

    serializers: list[Any] = ["pickle", "cloudpickle"]
    with tempfile.TemporaryDirectory(prefix="plait-bench-") as run_dir:
        if proxystore:
            store = str(Path(run_dir) / "store")
            serializers.insert(
                0,
                {"kind": "proxystore", "threshold": 1_000_000, "store_dir": store, "evict": True},
            )
        with plait.load(htex_config(run_dir, serializers)) as dfk:
            executor = dfk.executors["htex"]
            assert isinstance(executor, HighThroughputExecutor)
            stage = plait.python_app(add_one)
            array = numpy.zeros(mb * 1024 * 1024 // 8)
            before = executor.interchange_stats()["task_bytes"]
            start = time.perf_counter()
            future = stage(array)
            for _ in range(stages - 1):
                future = stage(future)
            result = numpy.asarray(future.result())
            seconds = time.perf_counter() - start
            moved = executor.interchange_stats()["task_bytes"] - before
            assert float(result[0]) == stages and float(result[-1]) == stages
            return seconds, moved, array.nbytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20_000, help="micro-benchmark rounds")
    parser.add_argument("--tasks", type=int, default=5_000, help="tasks per throughput run")
    parser.add_argument("--mb", type=int, default=100, help="array size in MB")
    parser.add_argument("--stages", type=int, default=10, help="chained tasks")
    parser.add_argument(
        "--serializers", default="pickle,cloudpickle,dill,proxystore", help="part 1 names"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    names = [n.strip() for n in args.serializers.split(",") if n.strip()]
    print(
        f"python {sys.version.split()[0]}; plait {version('plait')}, numpy "
        f"{version('numpy')}, proxystore {version('proxystore')}, dill {version('dill')}, "
        f"cloudpickle {version('cloudpickle')}; plugins: {plait_plugins()}"
    )
    print("\n1. small payloads (a dict of 23 values), one serializer at a time")
    print(f"{'serializer':<14}{'us per dumps+loads':>20}{'htex tasks/s':>16}")
    for name in names:
        us, rate = micro(name, args.rounds), throughput(name, args.tasks)
        us_text = f"{us:.1f}" if us is not None else "-"
        rate_text = f"{rate:,.0f}" if rate is not None else "-"
        print(f"{name:<14}{us_text:>20}{rate_text:>16}")
    print(f"\n2. a {args.mb} MB numpy array through {args.stages} chained plait-htex tasks")
    print(f"{'serializers':<28}{'seconds':>10}{'interchange MB':>16}{'of array bytes':>16}")
    rows = {}
    for label, proxy in (("pickle, cloudpickle", False), ("proxystore first", True)):
        seconds, moved, size = pipeline(args.mb, args.stages, proxy)
        rows[label] = (seconds, moved)
        share = moved / (size * args.stages)
        print(f"{label:<28}{seconds:>10.2f}{moved / 1e6:>16.3f}{share:>16.4%}")
    plain, proxied = rows["pickle, cloudpickle"], rows["proxystore first"]
    print(
        f"\nproxystore moves {proxied[1] / plain[1]:.4%} of the bytes through the interchange "
        f"and takes {proxied[0] / plain[0]:.2f}x the time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
