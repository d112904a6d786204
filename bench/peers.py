"""Peers: no-op tasks through plait-htex and the systems it is measured against.

Every system gets the same number of worker processes (``--workers``, 2) on this
machine and runs the same task, :func:`plait.cli.perf.noop` (importable everywhere, so
no system ships a function by value). For each system, in its own subprocess (plait and
Parsl both hold process-wide state, and nothing one system leaves running may slow the
next):

* start-up: from constructing/loading the system to the first task's result;
* warm-up: 200 tasks, not timed;
* throughput: submit ``--tasks`` tasks at once, then wait for all of them (tasks/s);
* latency: ``--latency-tasks`` (200) sequential round trips (median, milliseconds).

Systems (``--only`` picks rows by name):

``plait-htex``    plait with the plait-htex executor, ``max_workers_per_node=WORKERS``,
                  one local block (skipped when plait-htex is not installed);
``parsl-htex``    Parsl's HighThroughputExecutor, the same shape: LocalProvider with
                  one block (Parsl's defaults otherwise, so CurveZMQ encryption is on);
``dask``          dask.distributed ``LocalCluster(n_workers=WORKERS, threads_per_worker=1,
                  processes=True)``, ``client.submit(noop, i, pure=False)``;
``process-pool``  ``concurrent.futures.ProcessPoolExecutor(WORKERS)``;
``raw-zmq``       the transport ceiling: a ROUTER socket pipelining pickled
                  ``(task_id, func, args, kwargs)`` to WORKERS DEALER processes that call
                  the function and send back a pickled ``(task_id, result)``, with at
                  most ``--window`` (100) tasks outstanding per worker.

The last columns are plait-htex's ratio to each row: throughput (plait tasks/s / peer
tasks/s, higher is better for plait) and median latency (plait / peer, lower is better).

Usage::

    python bench/peers.py [--tasks 20000] [--workers 2] [--latency-tasks 200]
                          [--window 100] [--only plait-htex,parsl-htex,...]
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import gc
import itertools
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench_common import plait_htex_config, plait_plugins, version

WARMUP_TASKS = 200
RESULT_MARK = "PEERS-RESULT "
"""Prefix of the line a measuring subprocess prints its JSON figures on."""

Submit = Callable[[int], Any]
"""Submits one no-op task (with an int argument) and returns a future-like object."""


class Skipped(Exception):
    """The system cannot run here (not installed); the message says why."""


def noop_func() -> Callable[..., Any]:
    from plait.cli.perf import noop

    return noop


# --- the systems (each a context manager yielding a submit function) ---------------------


def htex_installed() -> bool:
    from plait.plugins import registry

    return "htex" in registry("executor")


@contextmanager
def plait_htex(workers: int, window: int) -> Iterator[Submit]:
    try:
        import plait
    except ImportError as exc:
        raise Skipped("plait not installed") from exc
    if not htex_installed():
        raise Skipped("plait-htex not installed")
    app = plait.python_app(noop_func())
    with tempfile.TemporaryDirectory(prefix="plait-peers-") as run_dir:
        with plait.load(plait_htex_config(workers, run_dir)):
            yield app
        plait.clear()


@contextmanager
def parsl_htex(workers: int, window: int) -> Iterator[Submit]:
    try:
        import parsl
        from parsl.config import Config
        from parsl.executors import HighThroughputExecutor
        from parsl.providers import LocalProvider
    except ImportError as exc:
        raise Skipped("parsl not installed") from exc
    app = parsl.python_app(noop_func())
    with tempfile.TemporaryDirectory(prefix="parsl-peers-") as run_dir:
        config = Config(
            executors=[
                HighThroughputExecutor(
                    label="htex",
                    max_workers_per_node=workers,
                    provider=LocalProvider(init_blocks=1, min_blocks=0, max_blocks=1),
                    worker_logdir_root=run_dir,
                )
            ],
            run_dir=run_dir,
            usage_tracking=0,
            monitoring=None,
            initialize_logging=False,
            strategy="none",
        )
        with parsl.load(config):
            yield app
        parsl.clear()


@contextmanager
def dask_cluster(workers: int, window: int) -> Iterator[Submit]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise Skipped("dask[distributed] not installed") from exc
    noop = noop_func()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield lambda i: client.submit(noop, i, pure=False)


@contextmanager
def process_pool(workers: int, window: int) -> Iterator[Submit]:
    noop = noop_func()
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        yield lambda i: pool.submit(noop, i)


@contextmanager
def raw_zmq(workers: int, window: int) -> Iterator[Submit]:
    try:
        import zmq  # noqa: F401
    except ImportError as exc:
        raise Skipped("pyzmq not installed") from exc
    noop = noop_func()
    pool = ZmqPool(workers, window)
    try:
        yield lambda i: pool.submit(noop, i)
    finally:
        pool.close()


class ZmqPool:
    """The transport ceiling: one ROUTER, ``workers`` DEALER processes, pickled tasks.

    ``submit`` pickles ``(task_id, func, args, kwargs)`` and hands it to an I/O thread
    (over an inproc PUSH/PULL pair; zmq sockets belong to one thread). The I/O thread
    owns the ROUTER: it keeps up to ``window`` tasks outstanding per worker and
    completes futures from the pickled ``(task_id, result)`` replies.
    """

    def __init__(self, workers: int, window: int) -> None:
        import zmq

        self.window = window
        self.n_workers = workers
        self.context = zmq.Context()
        self.router = self.context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        port = self.router.bind_to_random_port("tcp://127.0.0.1")
        self.pull = self.context.socket(zmq.PULL)
        self.pull.bind(f"inproc://zmq-pool-{id(self)}")
        self.push = self.context.socket(zmq.PUSH)
        self.push.connect(f"inproc://zmq-pool-{id(self)}")
        self.push_lock = threading.Lock()
        self.futures: dict[int, concurrent.futures.Future[Any]] = {}
        self.ids = itertools.count()
        self.workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--zmq-worker",
                    f"tcp://127.0.0.1:{port}",
                ]
            )
            for _ in range(workers)
        ]
        self.thread = threading.Thread(target=self._io_loop, name="zmq-pool-io", daemon=True)
        self.thread.start()

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        task_id = next(self.ids)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.futures[task_id] = future
        message = pickle.dumps((task_id, func, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        with self.push_lock:
            self.push.send(message)
        return future

    def close(self) -> None:
        with self.push_lock:
            self.push.send(b"")  # the I/O thread's stop signal
        self.thread.join()
        for proc in self.workers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.push.close(linger=0)
        self.context.term()

    def _io_loop(self) -> None:
        import zmq

        router, pull = self.router, self.pull
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(pull, zmq.POLLIN)
        pending: collections.deque[bytes] = collections.deque()
        outstanding: dict[bytes, int] = {}
        stopping = False
        while not stopping:
            events = dict(poller.poll())
            if pull in events:
                while True:
                    try:
                        message = pull.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if not message:
                        stopping = True
                        break
                    pending.append(message)
            if router in events:
                while True:
                    try:
                        identity, payload = router.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if payload == b"ready":
                        outstanding[identity] = 0
                        continue
                    outstanding[identity] -= 1
                    task_id, result = pickle.loads(payload)
                    future = self.futures.pop(task_id)
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
            while pending and outstanding:
                identity = min(outstanding, key=outstanding.__getitem__)
                if outstanding[identity] >= self.window:
                    break
                router.send_multipart([identity, pending.popleft()])
                outstanding[identity] += 1
        # let every worker say ready and finish what it holds, then stop them all
        while len(outstanding) < self.n_workers or any(outstanding.values()):
            if not router.poll(10_000):
                break
            identity, payload = router.recv_multipart()
            if payload == b"ready":
                outstanding[identity] = 0
            else:
                outstanding[identity] -= 1
        for identity in outstanding:
            router.send_multipart([identity, b"stop"])
        router.close(linger=1000)
        pull.close(linger=0)


def zmq_worker(address: str) -> None:
    """One raw-zmq worker process: DEALER, unpickle, call, pickle the result back."""
    import zmq

    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 1000)
    sock.connect(address)
    sock.send(b"ready")
    while True:
        message = sock.recv()
        if message == b"stop":
            break
        task_id, func, args, kwargs = pickle.loads(message)
        try:
            result = func(*args, **kwargs)
        except Exception as exc:
            result = exc
        sock.send(pickle.dumps((task_id, result), protocol=pickle.HIGHEST_PROTOCOL))
    sock.close()
    context.term()


SYSTEMS: dict[str, Callable[[int, int], Any]] = {
    "plait-htex": plait_htex,
    "parsl-htex": parsl_htex,
    "dask": dask_cluster,
    "process-pool": process_pool,
    "raw-zmq": raw_zmq,
}
PLAIT = "plait-htex"


# --- measuring one system (runs in a subprocess) -----------------------------------------


def measure(name: str, tasks: int, latency_tasks: int, workers: int, window: int) -> dict[str, Any]:
    """Start-up, warm-up, throughput and latency of one system, in this process."""
    start = time.perf_counter()
    try:
        with SYSTEMS[name](workers, window) as submit:
            submit(0).result()
            startup = time.perf_counter() - start
            for future in [submit(i) for i in range(WARMUP_TASKS)]:
                future.result()
            gc.collect()

            t0 = time.perf_counter()
            futures = [submit(i) for i in range(tasks)]
            for future in futures:
                future.result()
            seconds = time.perf_counter() - t0
            del futures
            gc.collect()

            latencies = []
            for i in range(latency_tasks):
                t0 = time.perf_counter()
                submit(i).result()
                latencies.append(time.perf_counter() - t0)
    except Skipped as exc:
        return {"name": name, "skipped": str(exc)}
    return {
        "name": name,
        "tasks": tasks,
        "seconds": seconds,
        "tasks_per_second": tasks / seconds,
        "median_latency_ms": statistics.median(latencies) * 1000.0,
        "startup_seconds": startup,
    }


def run_in_subprocess(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Measure ``name`` in a fresh interpreter; its figures, or why it failed."""
    print(f"  {name} ...", end="", flush=True, file=sys.stderr)
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--measure",
        name,
        "--tasks",
        str(args.tasks),
        "--latency-tasks",
        str(args.latency_tasks),
        "--workers",
        str(args.workers),
        "--window",
        str(args.window),
    ]
    # Parsl starts interchange.py and process_worker_pool.py from PATH: put this
    # interpreter's bin directory first, so running .venv-bench/bin/python is enough
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    with tempfile.TemporaryDirectory(prefix="peers-") as cwd:
        try:
            proc = subprocess.run(
                command, cwd=cwd, env=env, capture_output=True, text=True, timeout=args.timeout
            )
        except subprocess.TimeoutExpired:
            print(" timed out", file=sys.stderr)
            return {"name": name, "failed": f"timed out after {args.timeout} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARK) :])
            break
    else:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        print(f" failed (exit {proc.returncode}):\n{tail}", file=sys.stderr)
        return {"name": name, "failed": f"exit {proc.returncode}, see stderr above"}
    if "skipped" in result:
        print(f" skipped: {result['skipped']}", file=sys.stderr)
    else:
        print(f" {result['seconds']:.1f} s", file=sys.stderr)
    return result


# --- report ------------------------------------------------------------------------------


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"peers: {args.tasks:,} no-op tasks (submit all, then wait all), "
        f"{args.latency_tasks} sequential round trips, {args.workers} worker processes, "
        f"{WARMUP_TASKS} warm-up tasks",
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"plait {version('plait')}, plait-htex {version('plait-htex')}, "
        f"parsl {version('parsl')}, distributed {version('distributed')}, "
        f"pyzmq {version('pyzmq')}",
        f"plait plugins loaded: {plait_plugins()}",
        "",
        f"{'system':<14} {'tasks/s':>10} {'median latency ms':>18} {'start-up s':>11} "
        f"{'plait tasks/s ratio':>20} {'plait latency ratio':>20}",
        "-" * 98,
    ]
    plait = next((r for r in results if r["name"] == PLAIT and "tasks" in r), None)
    for r in results:
        if "skipped" in r:
            lines.append(f"{r['name']:<14} skipped: {r['skipped']}")
            continue
        if "failed" in r:
            lines.append(f"{r['name']:<14} failed: {r['failed']}")
            continue
        if plait is None or r is plait:
            ratios = f"{'-':>20} {'-':>20}"
        else:
            throughput = plait["tasks_per_second"] / r["tasks_per_second"]
            latency = plait["median_latency_ms"] / r["median_latency_ms"]
            ratios = f"{throughput:>19.2f}x {latency:>19.2f}x"
        lines.append(
            f"{r['name']:<14} {r['tasks_per_second']:>10,.0f} {r['median_latency_ms']:>18.3f} "
            f"{r['startup_seconds']:>11.2f} {ratios}"
        )
    if plait is not None:
        lines += [
            "",
            "ratios: plait-htex tasks/s / peer tasks/s (higher is better for plait); "
            "plait-htex latency / peer latency (lower is better for plait)",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks for throughput")
    parser.add_argument(
        "--latency-tasks", type=int, default=200, help="sequential round trips for latency"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes per system")
    parser.add_argument(
        "--window", type=int, default=100, help="raw-zmq: outstanding tasks per worker"
    )
    parser.add_argument(
        "--only", default=",".join(SYSTEMS), help=f"rows to run, from: {', '.join(SYSTEMS)}"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per system")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--zmq-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.zmq_worker:
        zmq_worker(args.zmq_worker)
        return 0
    if min(args.tasks, args.latency_tasks, args.workers, args.window) < 1:
        parser.error("--tasks, --latency-tasks, --workers and --window must be at least 1")
    if args.measure:
        result = measure(args.measure, args.tasks, args.latency_tasks, args.workers, args.window)
        print(RESULT_MARK + json.dumps(result), flush=True)
        return 0

    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown or not names:
        parser.error(f"--only: unknown {', '.join(unknown) or 'empty'}; from {', '.join(SYSTEMS)}")
    print("running:", file=sys.stderr)
    results = [run_in_subprocess(name, args) for name in SYSTEMS if name in names]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(table(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
