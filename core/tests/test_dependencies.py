"""Futures passed to apps are dependencies: the task waits for them and gets their
results, wherever they appear (args, kwargs, ``inputs``, nested containers)."""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plait
from plait import File, python_app


@python_app
def add(a: int, b: int = 0) -> int:
    return a + b


@python_app
def gated(value: Any, gate: threading.Event) -> Any:
    """Returns ``value`` once ``gate`` is set."""
    assert gate.wait(30), "gate never opened"
    return value


@python_app
def describe(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    return args, kwargs


def test_future_positional_arg_is_waited_for(dfk: plait.DataFlowKernel) -> None:
    gate = threading.Event()
    first = gated(20, gate)
    second = add(first, 1)
    third = add(second, b=second)
    assert not second.done() and not third.done()
    gate.set()
    assert third.result(timeout=30) == 42
    assert first.result() == 20


def test_future_keyword_arg_is_waited_for(dfk: plait.DataFlowKernel) -> None:
    gate = threading.Event()
    slow = gated(5, gate)
    total = add(1, b=slow)
    assert not total.done()
    gate.set()
    assert total.result(timeout=30) == 6


def test_futures_nested_in_containers_are_resolved(dfk: plait.DataFlowKernel) -> None:
    gate = threading.Event()
    f1 = gated(1, gate)
    f2 = add(f1, 1)
    f3 = add(f2, 1)
    point = namedtuple("point", "x y")
    out = describe(
        [f1, (f2, [f3])],
        point(f1, 7),
        {"a": f2, "nested": {"deep": [f3, {"x": (f1,)}]}},
        key={"k": [f3]},
    )
    assert not out.done()
    gate.set()
    args, kwargs = out.result(timeout=30)
    assert args[0] == [1, (2, [3])]
    assert args[1] == point(1, 7) and isinstance(args[1], point)
    assert args[2] == {"a": 2, "nested": {"deep": [3, {"x": (1,)}]}}
    assert kwargs == {"key": {"k": [3]}}


def test_futures_in_inputs_are_dependencies(dfk: plait.DataFlowKernel) -> None:
    @python_app
    def total(inputs: Sequence[int] = ()) -> int:
        return sum(inputs)

    gate = threading.Event()
    parts = [gated(i, gate) for i in range(5)]
    result = total(inputs=parts)
    assert not result.done()
    gate.set()
    assert result.result(timeout=30) == sum(range(5))


def test_data_future_from_outputs_is_a_dependency(
    dfk: plait.DataFlowKernel, tmp_path: Path
) -> None:
    @python_app
    def write(text: str, gate: threading.Event, outputs: Sequence[File] = ()) -> str:
        assert gate.wait(30)
        Path(outputs[0].filepath).write_text(text)
        return "written"

    @python_app
    def read(inputs: Sequence[File] = ()) -> str:
        return Path(inputs[0].filepath).read_text()

    @python_app
    def read_arg(file: File) -> str:
        return Path(file.filepath).read_text()

    gate = threading.Event()
    target = tmp_path / "data.txt"
    writer = write("hello data", gate, outputs=[File(str(target))])
    assert len(writer.outputs) == 1
    data_future = writer.outputs[0]
    assert isinstance(data_future, plait.DataFuture)
    assert data_future.filepath == str(target)
    via_inputs = read(inputs=[data_future])
    via_arg = read_arg(data_future)
    assert not via_inputs.done() and not via_arg.done()
    gate.set()
    assert via_inputs.result(timeout=30) == "hello data"
    assert via_arg.result(timeout=30) == "hello data"
    assert data_future.result().filepath == str(target)
    assert writer.result() == "written"


def test_data_future_of_failed_app_fails_dependents(
    dfk: plait.DataFlowKernel, tmp_path: Path
) -> None:
    @python_app
    def broken(outputs: Sequence[File] = ()) -> None:
        raise OSError("disk on fire")

    @python_app
    def read(inputs: Sequence[File] = ()) -> str:
        return "never"

    writer = broken(outputs=[File(str(tmp_path / "x"))])
    reader = read(inputs=[writer.outputs[0]])
    exc = reader.exception(timeout=30)
    assert isinstance(exc, plait.errors.DependencyError)
    assert f"task {writer.tid} (broken)" in exc.chain
    assert isinstance(writer.outputs[0].exception(), OSError)


def test_done_dependency_and_plain_values_mix(dfk: plait.DataFlowKernel) -> None:
    ready = add(2, 3)
    assert ready.result(timeout=30) == 5
    assert add(ready, 10).result(timeout=30) == 15


def test_many_dependents_of_one_future(dfk: plait.DataFlowKernel) -> None:
    gate = threading.Event()
    root = gated(100, gate)
    children = [add(root, i) for i in range(50)]
    assert not any(c.done() for c in children)
    gate.set()
    assert [c.result(timeout=30) for c in children] == [100 + i for i in range(50)]


def test_plain_concurrent_future_is_a_dependency(dfk: plait.DataFlowKernel) -> None:
    from concurrent.futures import Future

    external: Future[int] = Future()
    result = add(external, 1)
    assert not result.done()
    external.set_result(41)
    assert result.result(timeout=30) == 42
