"""Task functions the tests send to the endpoint process (importable on both sides, as a
user's module installed on the endpoint would be)."""

from __future__ import annotations

import os
import time
from typing import Any

import plait


def square(x: int) -> int:
    return x * x


def where() -> tuple[int, str]:
    """The worker's process id and working directory."""
    return os.getpid(), os.getcwd()


def fail(message: str) -> None:
    raise KeyError(message)


def numbers() -> Any:
    """A generator: something no serializer carries."""
    yield 1


class Unpicklable(Exception):
    """An exception that does not survive serialization (it holds a generator)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.pending = numbers()


def fail_unpicklably(message: str) -> None:
    raise Unpicklable(message)


def logs_then_fails(message: str) -> None:
    plait.app_logger().warning("about to fail: %s", message)
    raise ValueError(message)


def logs(message: str) -> str:
    plait.app_logger().info("said %s", message)
    return message


def big_result(size: int) -> bytes:
    return b"x" * size


def echo(value: Any) -> Any:
    return value


def die() -> None:
    os._exit(7)


def environment(*names: str) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in names}


# --- bash and MPI apps (the kernel passes app options as keyword arguments) ---


def echo_to(text: str, stdout: str | None = None, stderr: str | None = None) -> str:
    return f"echo {text}; echo to-stderr >&2"


def exit_with(code: int, stdout: str | None = None, stderr: str | None = None) -> str:
    return f"echo last words; echo something broke >&2; exit {code}"


def sleeper(seconds: float, walltime: float | None = None) -> str:
    return f"sleep {seconds}"


def not_a_command() -> int:
    return 42


def mpi_echo(stdout: str | None = None, resource_specification: Any = None) -> str:
    return 'echo "prefix=$PLAIT_MPI_PREFIX"; $PLAIT_MPI_PREFIX /bin/echo rank'


def ranks(*, comm: Any) -> tuple[int, list[int]]:
    return comm.Get_size(), comm.gather(comm.Get_rank())


def make_lambda() -> Any:
    """A result plain pickle cannot carry (dill can)."""
    return lambda x: x + 1


def nap_then_where(seconds: float) -> int:
    """Sleep, then say which process ran the task."""
    time.sleep(seconds)
    return os.getpid()
