"""``Config.retries`` re-runs failed tasks; ``retry_handler(exception, task_info)``
sets the cost of each failure (1 without a handler)."""

from __future__ import annotations

from typing import Any

import pytest

import plait
from plait import python_app
from plait.errors import DependencyError


class Flaky(RuntimeError):
    """Raised by the first attempts of a flaky app."""


def flaky_app(counter: Any, failures: int) -> Any:
    """An app that fails ``failures`` times (per key) and then returns ``key * 10``."""

    @python_app
    def flaky(key: str) -> str:
        attempt = counter.hit(key)
        if attempt <= failures:
            raise Flaky(f"{key} attempt {attempt}")
        return f"{key} ok after {attempt}"

    return flaky


def test_fails_twice_then_succeeds_with_two_retries(load: Any, counter: Any) -> None:
    load(retries=2)
    flaky = flaky_app(counter, failures=2)
    assert flaky("a").result(timeout=30) == "a ok after 3"
    assert counter["a"] == 3


def test_fails_twice_with_one_retry_fails(load: Any, counter: Any) -> None:
    load(retries=1)
    flaky = flaky_app(counter, failures=2)
    exc = flaky("a").exception(timeout=30)
    assert isinstance(exc, Flaky)
    assert str(exc) == "a attempt 2", "the error of the last attempt is reported"
    assert counter["a"] == 2


def test_no_retries_by_default(load: Any, counter: Any) -> None:
    load()
    flaky = flaky_app(counter, failures=1)
    assert isinstance(flaky("a").exception(timeout=30), Flaky)
    assert counter["a"] == 1


def test_dependents_wait_for_retries(load: Any, counter: Any) -> None:
    load(retries=3)
    flaky = flaky_app(counter, failures=3)

    @python_app
    def shout(text: str) -> str:
        return text.upper()

    assert shout(flaky("k")).result(timeout=30) == "K OK AFTER 4"


def test_dependent_of_exhausted_retries_gets_dependency_error(load: Any, counter: Any) -> None:
    load(retries=1)
    flaky = flaky_app(counter, failures=5)

    @python_app
    def shout(text: str) -> str:
        return text.upper()

    root = flaky("z")
    exc = shout(root).exception(timeout=30)
    assert isinstance(exc, DependencyError)
    assert "Flaky" in exc.root_cause and "z attempt 2" in exc.root_cause


def test_handler_large_cost_stops_retries(load: Any, counter: Any) -> None:
    seen: list[tuple[type[BaseException], int, str]] = []

    def handler(exc: BaseException, info: Any) -> float:
        seen.append((type(exc), info.attempt, info.name))
        return 100.0

    load(retries=5, retry_handler=handler)
    flaky = flaky_app(counter, failures=2)
    exc = flaky("a").exception(timeout=30)
    assert isinstance(exc, Flaky)
    assert counter["a"] == 1
    assert seen == [(Flaky, 0, "flaky")]


def test_handler_cost_by_exception_type(load: Any, counter: Any) -> None:
    """A handler can make some errors cheap (retry often) and others final."""

    class Fatal(Exception):
        pass

    def handler(exc: BaseException, info: Any) -> float:
        return 0.1 if isinstance(exc, Flaky) else 10.0

    load(retries=1, retry_handler=handler)
    flaky = flaky_app(counter, failures=5)  # 5 cheap failures cost 0.5 <= 1 retry
    assert flaky("cheap").result(timeout=30) == "cheap ok after 6"

    @python_app
    def fatal() -> None:
        counter.hit("fatal")
        raise Fatal("no point retrying")

    assert isinstance(fatal().exception(timeout=30), Fatal)
    assert counter["fatal"] == 1


def test_handler_sees_each_attempt(load: Any, counter: Any) -> None:
    attempts: list[int] = []

    def handler(exc: BaseException, info: Any) -> float:
        attempts.append(info.attempt)
        return 1.0

    load(retries=3, retry_handler=handler)
    flaky = flaky_app(counter, failures=3)
    assert flaky("a").result(timeout=30) == "a ok after 4"
    assert attempts == [0, 1, 2]


def test_handler_that_raises_fails_the_task(load: Any, counter: Any) -> None:
    def handler(exc: BaseException, info: Any) -> float:
        raise KeyError("handler bug")

    load(retries=3, retry_handler=handler)
    flaky = flaky_app(counter, failures=1)
    future = flaky("a")
    # as in Parsl: no retry, and the handler's own error is what the future raises
    with pytest.raises(KeyError, match="handler bug"):
        future.result(timeout=30)
    assert counter["a"] == 1
    # the kernel keeps working after a broken handler
    ok = flaky_app(counter, failures=0)
    assert ok("b").result(timeout=30) == "b ok after 1"


def test_negative_retries_rejected() -> None:
    with pytest.raises(plait.errors.ConfigError, match="retries"):
        plait.Config(retries=-1)
