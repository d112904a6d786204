"""``join_app``: an app whose body launches other apps and returns their future(s);
its own future completes with their result(s)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import plait
from plait import join_app, python_app
from plait.errors import DependencyError, JoinAppError


class InnerError(RuntimeError):
    """Raised by an inner app."""


@python_app
def double(x: int) -> int:
    return 2 * x


@python_app
def gated_double(x: int, gate: threading.Event) -> int:
    assert gate.wait(30)
    return 2 * x


@python_app
def fail(message: str) -> int:
    raise InnerError(message)


@join_app
def join_one(x: int) -> plait.AppFuture:
    return double(double(x))


@join_app
def join_many(n: int) -> list[plait.AppFuture]:
    return [double(i) for i in range(n)]


def test_join_app_returning_one_future(dfk: plait.DataFlowKernel) -> None:
    future = join_one(5)
    assert isinstance(future, plait.AppFuture)
    assert future.result(timeout=30) == 20


def test_join_app_returning_list_of_futures(dfk: plait.DataFlowKernel) -> None:
    assert join_many(6).result(timeout=30) == [0, 2, 4, 6, 8, 10]


def test_join_app_returning_empty_list(dfk: plait.DataFlowKernel) -> None:
    """A fan-out over nothing joins to an empty list (as in Parsl)."""
    assert join_many(0).result(timeout=30) == []


def test_join_waits_for_inner_futures(dfk: plait.DataFlowKernel) -> None:
    gate = threading.Event()
    launched = threading.Event()

    @join_app
    def fan(n: int) -> list[plait.AppFuture]:
        inner = [gated_double(i, gate) for i in range(n)]
        launched.set()
        return inner

    future = fan(3)
    assert launched.wait(30)
    assert double(1).result(timeout=30) == 2  # the kernel is not blocked by the join
    assert not future.done()
    gate.set()
    assert future.result(timeout=30) == [0, 2, 4]


def test_join_app_result_is_a_dependency(dfk: plait.DataFlowKernel) -> None:
    @python_app
    def total(values: list[int]) -> int:
        return sum(values)

    assert total(join_many(4)).result(timeout=30) == 12
    assert double(join_one(1)).result(timeout=30) == 8


def test_join_app_with_future_arguments(dfk: plait.DataFlowKernel) -> None:
    assert join_one(double(1)).result(timeout=30) == 8


def test_nested_join_apps(dfk: plait.DataFlowKernel) -> None:
    @join_app
    def outer(n: int) -> list[plait.AppFuture]:
        return [join_many(i) for i in range(n)]

    assert outer(4).result(timeout=30) == [[], [0], [0, 2], [0, 2, 4]]


@pytest.mark.parametrize("value", [42, None, "future", [double, 1]], ids=repr)
def test_join_app_returning_non_future(dfk: plait.DataFlowKernel, value: Any) -> None:
    @join_app
    def wrong() -> Any:
        return value

    exc = wrong().exception(timeout=30)
    assert isinstance(exc, JoinAppError)
    assert exc.code == "PLT-206"
    assert "wrong" in str(exc) and "PLT-206" in str(exc)
    assert exc.hint


def test_inner_failure_propagates_single(dfk: plait.DataFlowKernel) -> None:
    @join_app
    def one() -> plait.AppFuture:
        return fail("inner boom")

    with pytest.raises(InnerError, match="inner boom"):
        one().result(timeout=30)


def test_inner_failure_propagates_list(dfk: plait.DataFlowKernel) -> None:
    @join_app
    def several() -> list[plait.AppFuture]:
        return [double(1), fail("second"), double(3)]

    exc = several().exception(timeout=30)
    assert isinstance(exc, JoinAppError)
    assert "1 of its 3" in str(exc)
    assert "(fail)" in str(exc)


def test_inner_failure_fails_dependents_of_join(dfk: plait.DataFlowKernel) -> None:
    @join_app
    def one() -> plait.AppFuture:
        return fail("deep")

    joined = one()
    exc = double(joined).exception(timeout=30)
    assert isinstance(exc, DependencyError)
    assert exc.chain[0] == f"task {joined.tid} (one)"
    assert "deep" in exc.root_cause


def test_join_body_exception(dfk: plait.DataFlowKernel) -> None:
    @join_app
    def broken() -> plait.AppFuture:
        raise InnerError("before launching anything")

    with pytest.raises(InnerError, match="before launching"):
        broken().result(timeout=30)


def test_join_body_exception_is_retried(load: Any, counter: Any) -> None:
    load(retries=1)

    @join_app
    def flaky() -> plait.AppFuture:
        if counter.hit() == 1:
            raise InnerError("first attempt")
        return double(21)

    assert flaky().result(timeout=30) == 42
    assert counter.total == 2


def test_join_pool_threads_are_stopped(load: Any) -> None:
    load()
    assert join_many(3).result(timeout=30) == [0, 2, 4]
    plait.clear()
    left = [t.name for t in threading.enumerate() if t.name.startswith("plait-")]
    assert left == []


def test_cached_join_app_is_memoized(dfk: plait.DataFlowKernel, counter: Any) -> None:
    """As in Parsl, a join app with cache=True runs once per distinct arguments."""

    @join_app(cache=True)
    def cached_fan(n: int) -> list[plait.AppFuture]:
        counter.hit(n)
        return [double(i) for i in range(n)]

    assert cached_fan(3).result(timeout=30) == [0, 2, 4]
    assert cached_fan(3).result(timeout=30) == [0, 2, 4]
    assert counter[3] == 1
    assert cached_fan(2).result(timeout=30) == [0, 2]
    assert counter[2] == 1
