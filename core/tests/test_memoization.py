"""``cache=True`` apps run once per distinct arguments (memoization)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import plait
from plait import python_app
from plait.errors import UnhashableArgumentError


def cached_square(counter: Any, **options: Any) -> Any:
    @python_app(cache=True, **options)
    def square(x: Any, verbose: bool = False, label: str = "") -> Any:
        counter.hit(("square", repr(x)))
        return x * x if isinstance(x, int) else x

    return square


def test_equal_args_run_once(dfk: plait.DataFlowKernel, counter: Any) -> None:
    square = cached_square(counter)
    first = square(7)
    assert first.result(timeout=30) == 49
    again = square(7)
    assert again is not first
    assert again.result(timeout=30) == 49
    assert counter[("square", "7")] == 1
    assert square(7, label="x").result(timeout=30) == 49
    assert square(7, label="x").result(timeout=30) == 49
    assert counter[("square", "7")] == 2


def test_memo_hit_runs_body_once(dfk: plait.DataFlowKernel, counter: Any) -> None:
    square = cached_square(counter)
    results = []
    for _ in range(5):
        results.append(square(12).result(timeout=30))
    assert results == [144] * 5
    assert counter[("square", "12")] == 1


def test_different_args_run_again(dfk: plait.DataFlowKernel, counter: Any) -> None:
    square = cached_square(counter)
    assert [square(i).result(timeout=30) for i in range(4)] == [0, 1, 4, 9]
    assert [square(i).result(timeout=30) for i in range(4)] == [0, 1, 4, 9]
    assert counter.total == 4
    assert square([1, 2]).result(timeout=30) == [1, 2]
    assert square([1, 3]).result(timeout=30) == [1, 3]
    assert square({"a": 1}).result(timeout=30) == {"a": 1}
    assert square({"a": 1}).result(timeout=30) == {"a": 1}
    assert counter.total == 7


def test_keyword_that_differs_changes_key(dfk: plait.DataFlowKernel, counter: Any) -> None:
    square = cached_square(counter)
    square(3, label="a").result(timeout=30)
    square(3, label="b").result(timeout=30)
    square(3, label="a").result(timeout=30)
    assert counter[("square", "3")] == 2


def test_ignore_for_cache(dfk: plait.DataFlowKernel, counter: Any) -> None:
    square = cached_square(counter, ignore_for_cache=["verbose"])
    assert square(5, verbose=True).result(timeout=30) == 25
    assert square(5, verbose=False).result(timeout=30) == 25
    assert counter[("square", "5")] == 1
    square(5, label="other").result(timeout=30)  # not ignored: runs again
    assert counter[("square", "5")] == 2


def test_dependency_results_are_part_of_the_key(dfk: plait.DataFlowKernel, counter: Any) -> None:
    square = cached_square(counter)

    @python_app
    def ident(x: int) -> int:
        return x

    assert square(ident(4)).result(timeout=30) == 16
    assert square(ident(4)).result(timeout=30) == 16
    assert square(4).result(timeout=30) == 16
    assert counter[("square", "4")] == 1
    assert square(ident(5)).result(timeout=30) == 25
    assert counter[("square", "5")] == 1


def test_uncached_app_always_runs(dfk: plait.DataFlowKernel, counter: Any) -> None:
    @python_app
    def plain(x: int) -> int:
        counter.hit()
        return x

    for _ in range(3):
        assert plain(1).result(timeout=30) == 1
    assert counter.total == 3


def test_failures_are_not_memoized(dfk: plait.DataFlowKernel, counter: Any) -> None:
    @python_app(cache=True)
    def fails_once(x: int) -> int:
        if counter.hit() == 1:
            raise RuntimeError("first call fails")
        return x

    assert isinstance(fails_once(1).exception(timeout=30), RuntimeError)
    assert fails_once(1).result(timeout=30) == 1
    assert fails_once(1).result(timeout=30) == 1
    assert counter.total == 2


def test_app_cache_false_disables_memoization(load: Any, counter: Any) -> None:
    load(app_cache=False)
    square = cached_square(counter)
    for _ in range(3):
        assert square(6).result(timeout=30) == 36
    assert counter[("square", "6")] == 3


def test_unhashable_argument(dfk: plait.DataFlowKernel, counter: Any) -> None:
    square = cached_square(counter)
    future = square(threading.Lock())
    exc = future.exception(timeout=30)
    assert isinstance(exc, UnhashableArgumentError)
    assert exc.code == "PLT-300"
    assert "PLT-300" in str(exc) and "lock" in str(exc).lower()
    assert exc.hint
    assert counter.total == 0
    # the kernel is still healthy afterwards
    assert square(2).result(timeout=30) == 4


def test_unhashable_argument_fails_dependents(dfk: plait.DataFlowKernel, counter: Any) -> None:
    square = cached_square(counter)

    @python_app
    def inc(x: int) -> int:
        return x + 1

    bad = square(threading.Lock())
    exc = inc(bad).exception(timeout=30)
    assert isinstance(exc, plait.errors.DependencyError)
    assert "UnhashableArgumentError" in exc.root_cause


def test_unhashable_argument_can_be_ignored(dfk: plait.DataFlowKernel, counter: Any) -> None:
    @python_app(cache=True, ignore_for_cache=["lock"])
    def guarded(x: int, lock: Any = None) -> int:
        counter.hit()
        with lock:
            return x + 1

    assert guarded(1, lock=threading.Lock()).result(timeout=30) == 2
    assert guarded(1, lock=threading.Lock()).result(timeout=30) == 2
    assert counter.total == 1


def test_id_for_memo_registration(dfk: plait.DataFlowKernel, counter: Any) -> None:
    class Handle:
        def __init__(self, name: str) -> None:
            self.name = name
            self.lock = threading.Lock()  # makes it unpicklable

    @plait.id_for_memo.register(Handle)
    def _handle_id(obj: Handle) -> bytes:
        return b"Handle:" + obj.name.encode()

    @python_app(cache=True)
    def use(h: Handle) -> str:
        counter.hit()
        return h.name

    assert use(Handle("a")).result(timeout=30) == "a"
    assert use(Handle("a")).result(timeout=30) == "a"
    assert use(Handle("b")).result(timeout=30) == "b"
    assert counter.total == 2


@pytest.mark.parametrize("cache", [True, False])
def test_memo_applies_only_to_cached_apps(
    dfk: plait.DataFlowKernel, counter: Any, cache: bool
) -> None:
    @python_app(cache=cache)
    def work(x: int) -> int:
        counter.hit()
        return x

    work(1).result(timeout=30)
    work(1).result(timeout=30)
    assert counter.total == (1 if cache else 2)
