"""Concurrency stress: many user threads submit tasks with random dependencies on each
other's futures; every future must resolve with the right value (no deadlock, no lost
or duplicated task)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import wait
from typing import Any

import pytest

import plait
from plait import python_app
from plait_threads import ThreadPoolExecutor

THREADS = 8
TASKS_PER_THREAD = 2_500  # 20,000 in all
MAX_DEPS = 4
MODULUS = 2_147_483_647
SEED = 20_240_601


def combine(key: int, deps: list[int], extra: dict[str, int]) -> int:
    """The value of task ``key`` from its dependencies' values (order matters)."""
    acc = key * 7_919
    for position, value in enumerate(deps, start=1):
        acc = (acc * 31 + position * value) % MODULUS
    for name in sorted(extra):
        acc = (acc + len(name) * extra[name]) % MODULUS
    return acc


@python_app
def node(key: int, *positional: int, deps: Any = (), extra: Any = None) -> int:
    """One task: its dependencies arrive as positional args, in a nested list, and as
    dict values (all futures at submission)."""
    flat = list(positional)
    for item in deps:
        flat.extend(item if isinstance(item, tuple) else [item])
    return combine(key, flat, extra or {})


@pytest.mark.slow
def test_many_threads_random_dependencies(load: Any) -> None:
    load(executors=[ThreadPoolExecutor(max_threads=4)], error_reporters=[])
    shared: list[tuple[int, plait.AppFuture]] = []  # (key, future) in submission order
    lock = threading.Lock()
    graph: dict[int, tuple[list[int], dict[str, int]]] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def user_thread(index: int) -> None:
        rng = random.Random(SEED + index)
        try:
            start.wait(30)
            for i in range(TASKS_PER_THREAD):
                key = index * TASKS_PER_THREAD + i
                with lock:
                    available = len(shared)
                    count = min(available, rng.randint(0, MAX_DEPS))
                    # mostly recent tasks (long chains across threads), some old ones
                    picks = [
                        shared[max(0, available - 1 - int(rng.expovariate(0.05)))]
                        if rng.random() < 0.8
                        else shared[rng.randrange(available)]
                        for _ in range(count)
                    ]
                dep_keys = [k for k, _ in picks]
                dep_futures = [f for _, f in picks]
                split = rng.randint(0, len(picks))
                positional = dep_futures[:split]
                # the rest go in a nested list: every other one inside a 1-tuple
                nested: list[Any] = [
                    (f,) if n % 2 else f for n, f in enumerate(dep_futures[split:])
                ]
                extra_keys: dict[str, int] = {}
                extra: dict[str, Any] = {}
                if picks and rng.random() < 0.3:
                    k, f = picks[rng.randrange(len(picks))]
                    extra_keys["x" * rng.randint(1, 3)] = k
                    extra = {name: f for name in extra_keys}
                future = node(key, *positional, deps=nested, extra=extra or None)
                with lock:
                    graph[key] = (dep_keys, extra_keys)
                    shared.append((key, future))
        except BaseException as exc:  # pragma: no cover - reported by the assert below
            failures.append(exc)

    began = time.monotonic()
    threads = [
        threading.Thread(target=user_thread, args=(i,), name=f"test-user-{i}")
        for i in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not any(t.is_alive() for t in threads), "a submitting thread is stuck"
    assert not failures, failures

    total = THREADS * TASKS_PER_THREAD
    assert len(shared) == total and len({f.tid for _, f in shared}) == total
    futures = [f for _, f in shared]
    _done, not_done = wait(futures, timeout=240)
    assert not not_done, f"{len(not_done)} of {total} futures never resolved (deadlock?)"

    # the expected values, computed without plait, in submission order (every
    # dependency was submitted before its dependents)
    expected: dict[int, int] = {}
    for key, _future in shared:
        dep_keys, extra_keys = graph[key]
        extra_values = {name: expected[k] for name, k in extra_keys.items()}
        expected[key] = combine(key, [expected[k] for k in dep_keys], extra_values)
    wrong = [(key, f.result(), expected[key]) for key, f in shared if f.result() != expected[key]]
    assert not wrong, f"{len(wrong)} wrong results, e.g. {wrong[:3]}"
    with_deps = sum(1 for deps, _ in graph.values() if deps)
    assert with_deps > total // 2, "the graph should be mostly dependent tasks"
    assert plait.dfk().tasks_outstanding() == 0
    elapsed = time.monotonic() - began
    print(f"stress: {total} tasks in {elapsed:.1f} s ({total / elapsed:.0f} tasks/s)")


class Unlucky(Exception):
    """Raised by the tasks chosen to fail."""


@python_app
def maybe_fail(key: int, *deps: int) -> int:
    if key % 13 == 0:
        raise Unlucky(f"task key {key}")
    return combine(key, list(deps), {})


@pytest.mark.slow
def test_failures_propagate_under_concurrency(load: Any) -> None:
    """With random failures and retries, each task ends exactly as its ancestry says:
    a value, its own Unlucky error, or a DependencyError whose chain starts at a
    failed ancestor."""
    load(executors=[ThreadPoolExecutor(max_threads=4)], retries=1, error_reporters=[])
    shared: list[tuple[int, plait.AppFuture]] = []
    graph: dict[int, list[int]] = {}
    lock = threading.Lock()

    def user_thread(index: int) -> None:
        rng = random.Random(SEED * 3 + index)
        for i in range(300):
            key = index * 300 + i
            with lock:
                picks = (
                    [shared[rng.randrange(len(shared))] for _ in range(rng.randint(0, 3))]
                    if shared
                    else []
                )
            future = maybe_fail(key, *[f for _, f in picks])
            with lock:
                graph[key] = [k for k, _ in picks]
                shared.append((key, future))

    threads = [threading.Thread(target=user_thread, args=(i,), name=f"test-u{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    _done, not_done = wait([f for _, f in shared], timeout=120)
    assert not not_done

    expected: dict[int, int | None] = {}  # None: failed (itself or an ancestor)
    for key, _f in shared:
        deps = [expected[k] for k in graph[key]]
        if key % 13 == 0 or None in deps:
            expected[key] = None
        else:
            expected[key] = combine(key, [d for d in deps if d is not None], {})
    label_keys = {f"task {f.tid} (maybe_fail)": key for key, f in shared}
    for key, future in shared:
        exc = future.exception()
        if expected[key] is not None:
            assert exc is None and future.result() == expected[key]
        elif key % 13 == 0 and not any(expected[k] is None for k in graph[key]):
            assert isinstance(exc, Unlucky)
        else:
            assert isinstance(exc, (Unlucky, plait.errors.DependencyError))
            if isinstance(exc, plait.errors.DependencyError):
                root_key = label_keys[exc.chain[0]]
                assert root_key % 13 == 0
                assert exc.chain[-1] == f"task {future.tid} (maybe_fail)"
