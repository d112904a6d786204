"""A failed task fails its dependents with a DependencyError that names the chain of
failed ancestors and the root cause; the failed task's own future raises the original
exception."""

from __future__ import annotations

from typing import Any

import pytest

import plait
from plait import python_app
from plait.errors import DependencyError


class RootCauseError(ValueError):
    """A distinctive exception type for the root of a failing chain."""


@python_app
def explode(message: str) -> int:
    raise RootCauseError(message)


@python_app
def inc(x: int) -> int:
    return x + 1


@python_app
def combine(*values: Any) -> list[Any]:
    return list(values)


def label(future: plait.AppFuture) -> str:
    return f"task {future.tid} ({future.task_name})"


def test_chain_names_ancestors_in_order_and_root_cause(
    dfk: plait.DataFlowKernel, counter: Any
) -> None:
    @python_app
    def tracked(x: int) -> int:
        counter.hit()
        return x

    a = explode("the root problem")
    b = inc(a)
    c = tracked(b)

    with pytest.raises(RootCauseError, match="the root problem"):
        a.result(timeout=30)

    b_exc = b.exception(timeout=30)
    assert isinstance(b_exc, DependencyError)
    assert b_exc.code == "PLT-200"
    assert b_exc.chain == (label(a), label(b))

    c_exc = c.exception(timeout=30)
    assert isinstance(c_exc, DependencyError)
    assert c_exc.code == "PLT-200"
    assert c_exc.chain == (label(a), label(b), label(c))
    assert "RootCauseError" in c_exc.root_cause
    assert "the root problem" in c_exc.root_cause
    text = str(c_exc)
    assert "PLT-200" in text
    assert label(a) in text and "the root problem" in text
    assert c_exc.hint
    with pytest.raises(DependencyError):
        c.result()
    assert counter.total == 0, "a dependent of a failed task must not run"


def test_long_chain_keeps_whole_ancestry(dfk: plait.DataFlowKernel) -> None:
    root = explode("deep")
    futures = [root]
    for _ in range(10):
        futures.append(inc(futures[-1]))
    exc = futures[-1].exception(timeout=30)
    assert isinstance(exc, DependencyError)
    assert exc.chain == tuple(label(f) for f in futures)
    assert "deep" in str(exc)


def test_one_failed_dependency_among_several(dfk: plait.DataFlowKernel) -> None:
    good = inc(1)
    bad = explode("only this one")
    out = combine(good, [bad], {"k": good})
    exc = out.exception(timeout=30)
    assert isinstance(exc, DependencyError)
    assert exc.chain == (label(bad), label(out))
    assert good.result() == 2


def test_two_failed_dependencies_are_both_named(dfk: plait.DataFlowKernel) -> None:
    bad1 = explode("first")
    bad2 = explode("second")
    plait.wait_for_current_tasks()
    out = combine(bad1, bad2)
    exc = out.exception(timeout=30)
    assert isinstance(exc, DependencyError)
    assert exc.chain[-1] == label(out)
    assert exc.chain[0] in (label(bad1), label(bad2))
    assert label(bad1) in str(exc) and label(bad2) in str(exc)


def test_failure_does_not_affect_independent_tasks(dfk: plait.DataFlowKernel) -> None:
    bad = explode("x")
    dependents = [inc(bad) for _ in range(5)]
    independents = [inc(i) for i in range(5)]
    assert [f.result(timeout=30) for f in independents] == [1, 2, 3, 4, 5]
    for f in dependents:
        assert isinstance(f.exception(timeout=30), DependencyError)


def test_failed_task_is_reported_on_stderr(
    dfk: plait.DataFlowKernel, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = explode("visible failure")
    assert isinstance(bad.exception(timeout=30), RootCauseError)
    plait.wait_for_current_tasks()
    err = capsys.readouterr().err
    assert f"task {bad.tid} (explode) failed" in err
    assert "visible failure" in err
