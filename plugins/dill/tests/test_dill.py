"""What users rely on: code carried by value, objects plain pickle refuses, and clear
errors for what is not carried."""

from __future__ import annotations

import pickle
import queue
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from plait.interfaces.serializer import unframe
from plait.plugins import registry
from plait_dill import DillSerializer

TIMEOUT = 60.0


@pytest.fixture
def serializer() -> DillSerializer:
    return DillSerializer()


def round_trip(serializer: DillSerializer, obj: Any) -> Any:
    return serializer.deserialize(serializer.serialize(obj))


def test_registered_as_dill() -> None:
    assert registry("serializer").get("dill") is DillSerializer


SCRIPT = """
import sys

import dill

from plait.interfaces.serializer import frame
from plait_dill import DillSerializer

{preamble}
RATE = 4


def helper(x):
    return x + 1


class Scaler:
    def __init__(self, factor):
        self.factor = factor

    def apply(self, x):
        return x * self.factor


def work(x):
    return Scaler(RATE).apply(helper(x))


sys.stdout.buffer.write(frame(DillSerializer(), work))
"""


@pytest.mark.parametrize(
    "preamble",
    ["", 'dill.settings["recurse"] = False\ndill.settings["byref"] = True'],
    ids=["default dill settings", "dill.settings changed"],
)
def test_function_of_a_script_travels_by_value(
    serializer: DillSerializer, tmp_path: Path, preamble: str
) -> None:
    """A function of a script run as ``python script.py`` (its ``__main__``), with the
    function, class and constant of the script it uses, decoded in another process
    (this one, whose ``__main__`` is pytest), as on a worker."""
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(preamble=preamble))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    back = unframe(done.stdout, [serializer])
    assert back.__module__ == "__main__"
    assert back(2) == 12
    assert not hasattr(sys.modules["__main__"], "RATE"), "decoding must not touch __main__"


def test_objects_holding_locks_round_trip_where_pickle_refuses(
    serializer: DillSerializer,
) -> None:
    class Tally:
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.count = 0

        def add(self) -> int:
            with self.lock:
                self.count += 1
                return self.count

    tally = Tally()
    tally.add()
    jobs: queue.Queue[str] = queue.Queue()
    jobs.put("first")
    jobs.put("second")
    held = threading.Lock()
    held.acquire()
    for refused in (jobs, held):
        with pytest.raises(TypeError, match="lock"):
            pickle.dumps(refused, protocol=5)

    obj = {"tally": tally, "jobs": jobs, "held": held}

    back = round_trip(serializer, obj)
    assert back["tally"].add() == 2
    assert back["tally"].lock is not tally.lock, "each copy gets its own lock"
    assert [back["jobs"].get_nowait(), back["jobs"].get_nowait()] == ["first", "second"]
    assert back["held"].locked(), "a held lock comes back held"
    assert not back["held"].acquire(blocking=False)
    held.release()


def test_standard_streams_decode_to_this_process_streams(serializer: DillSerializer) -> None:
    assert round_trip(serializer, sys.__stderr__) is sys.__stderr__


def _generator(stack: ExitStack, tmp_path: Path) -> Any:
    return (i for i in range(3))


def _generator_in_data(stack: ExitStack, tmp_path: Path) -> Any:
    return {"results": [1, (i for i in range(3))]}


def _socket(stack: ExitStack, tmp_path: Path) -> Any:
    return stack.enter_context(socket.socket())


def _file_for_writing(stack: ExitStack, tmp_path: Path) -> Any:
    log = stack.enter_context((tmp_path / "log.txt").open("w"))
    log.write("results so far\n")
    log.flush()
    return {"log": log}


def _file_for_reading(stack: ExitStack, tmp_path: Path) -> Any:
    (tmp_path / "input.bin").write_bytes(b"\x00\x01")
    return stack.enter_context((tmp_path / "input.bin").open("rb"))


def _mutually_recursive_functions(stack: ExitStack, tmp_path: Path) -> Any:
    def is_even(n: int) -> bool:
        return True if n == 0 else is_odd(n - 1)

    def is_odd(n: int) -> bool:
        return False if n == 0 else is_even(n - 1)

    return is_even


def _deeply_nested_list(stack: ExitStack, tmp_path: Path) -> Any:
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    return nested


@pytest.mark.parametrize(
    ("make", "type_name"),
    [
        (_generator, "'generator'"),
        (_generator_in_data, "'generator'"),
        (_socket, "'socket'"),
        (_file_for_writing, "'_io.TextIOWrapper'"),
        (_file_for_reading, "'_io.BufferedReader'"),
        (_mutually_recursive_functions, "'function'"),
        (_deeply_nested_list, "'list'"),
    ],
    ids=[
        "generator",
        "generator inside data",
        "socket",
        "file open for writing",
        "file open for reading",
        "mutually recursive functions",
        "deeply nested list",
    ],
)
def test_uncarriable_object_raises_naming_its_type(
    serializer: DillSerializer,
    tmp_path: Path,
    make: Callable[[ExitStack, Path], Any],
    type_name: str,
) -> None:
    with ExitStack() as stack:
        obj = make(stack, tmp_path)
        with pytest.raises(Exception, match=re.escape(type_name)) as info:
            serializer.serialize(obj)
    assert isinstance(info.value, (TypeError, ValueError, pickle.PicklingError))
    assert round_trip(serializer, [1, "two"]) == [1, "two"], "the instance stays usable"


def test_an_open_file_is_refused_not_truncated(serializer: DillSerializer, tmp_path: Path) -> None:
    """dill alone would reopen the file by name in write mode where it is decoded, which
    empties it on a shared file system."""
    path = tmp_path / "results.txt"
    with path.open("w") as results:
        results.write("precious\n")
        results.flush()
        with pytest.raises(TypeError, match=re.escape(str(path))):
            serializer.serialize(lambda: results.write("more\n"))
    assert path.read_text() == "precious\n"


def test_one_instance_carries_functions_from_many_threads(serializer: DillSerializer) -> None:
    threads, rounds = 8, 50
    barrier = threading.Barrier(threads)

    def make_scaled(factor: int) -> Callable[[int], int]:
        def scaled(x: int) -> int:
            return x * factor

        return scaled

    def work(thread: int) -> Iterator[str]:
        barrier.wait(timeout=TIMEOUT)
        for i in range(rounds):
            factor = thread * rounds + i
            closure = round_trip(serializer, make_scaled(factor))
            lam = round_trip(serializer, lambda x, f=factor: x - f)
            if (closure(3), lam(3)) != (3 * factor, 3 - factor):
                yield f"thread {thread}, round {i}: {closure(3)}, {lam(3)}"

    with ThreadPoolExecutor(threads) as pool:
        problems = [p for found in pool.map(lambda t: list(work(t)), range(threads)) for p in found]
    assert not problems, problems[:3]
