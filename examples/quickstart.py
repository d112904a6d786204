"""A small real workflow on the local default executor.

A fan-out of python apps, a bash app writing a file that a python app then reads,
a join app that launches more apps, and a dependency chain.
Run it with `./dev demo` (or `python examples/quickstart.py` once plait is installed).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import plait
from plait import File, bash_app, join_app, python_app


@python_app
def square(x: int) -> int:
    return x * x


@python_app
def total(values: list[int]) -> int:
    return sum(values)


@bash_app
def write_numbers(n: int, outputs: list[File] = ()) -> str:  # type: ignore[assignment]
    return f"seq 1 {n} > {outputs[0]}"


@python_app
def count_lines(inputs: list[File] = ()) -> int:  # type: ignore[assignment]
    with open(inputs[0]) as handle:
        return sum(1 for _ in handle)


@python_app
def increment(x: int) -> int:
    return x + 1


@join_app
def fan_out(n: int) -> list[plait.AppFuture]:
    return [square(i) for i in range(n)]


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="plait-quickstart-"))
    with plait.load(plait.Config(run_dir=str(workdir / "runinfo"))) as kernel:
        squares = [square(i) for i in range(10)]
        sum_of_squares = total(squares)

        numbers = write_numbers(25, outputs=[File(str(workdir / "numbers.txt"))])
        lines = count_lines(inputs=[numbers.outputs[0]])

        joined = total(fan_out(5))

        chain = increment(0)
        for _ in range(9):
            chain = increment(chain)

        print(f"executors:           {sorted(kernel.executors)}")
        print(f"sum of squares 0..9: {sum_of_squares.result()}")
        print(f"lines written:       {lines.result()}")
        print(f"join app total:      {joined.result()}")
        print(f"dependency chain:    {chain.result()}")
        print(f"run directory:       {kernel.run_dir}")


if __name__ == "__main__":
    main()
