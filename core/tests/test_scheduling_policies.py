"""Choosing among an app's executors: the ``round-robin`` and ``least-loaded`` policies,
the load the kernel tracks for them, data locations, the ``plait_choose_executor``
hook's precedence, the recorded choices and the configuration that selects them."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import File, python_app
from plait.config.check import check_config
from plait.errors import ConfigError, UnknownKeyError
from plait.interfaces import Capacity, Executor, TaskDescription
from plait.scheduling import (
    POLICIES,
    DataLocations,
    LeastLoaded,
    LoadTracker,
    RoundRobin,
    SelectionPolicy,
    make_policy,
)
from plait.scheduling.load import CAPACITY_TTL
from plait_threads import ThreadPoolExecutor


class Fake(Executor):
    """An executor that only reports a capacity (the policies never submit)."""

    capabilities = frozenset()
    maturity = "development"

    def __init__(self, label: str, capacity: Capacity | None = None) -> None:
        self.label = label
        self.reported = capacity
        self.asked = 0

    def capacity(self) -> Capacity | None:
        self.asked += 1
        return self.reported

    def submit(
        self,
        task: TaskDescription,
        func: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> Future[Any]:
        raise NotImplementedError

    def shutdown(self, wait: bool = True) -> None:
        pass


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tracker(
    *executors: Executor, locations: Mapping[str, Sequence[str]] | None = None
) -> tuple[LoadTracker, Clock]:
    clock = Clock()
    return LoadTracker(executors, locations, clock=clock), clock


def task(name: str = "app", tid: int = 0) -> TaskDescription:
    return TaskDescription(tid, name)


def queue_on(
    load: LoadTracker, executor: Executor, count: int, name: str = "app"
) -> list[Future[Any]]:
    """Hand ``count`` tasks to ``executor`` as the kernel would; their futures."""
    futures: list[Future[Any]] = []
    for _ in range(count):
        future: Future[Any] = Future()
        load.launched(1000 + len(load.running), executor, name, future)
        futures.append(future)
    return futures


def pick(
    policy: SelectionPolicy,
    load: LoadTracker | None,
    candidates: Sequence[Executor],
    inputs: Sequence[Any] = (),
    name: str = "app",
) -> Executor:
    return policy.choose(task(name), candidates, load, inputs, False)[0]


# --- round-robin ---------------------------------------------------------------------


def test_round_robin_takes_the_candidates_in_turn() -> None:
    a, b, c = Fake("a"), Fake("b"), Fake("c")
    policy = RoundRobin()
    chosen = [pick(policy, None, [a, b, c]).label for _ in range(7)]
    assert chosen == ["a", "b", "c", "a", "b", "c", "a"]
    assert policy.choose(task(), [a, b], None, (), True) == (b, "round-robin")
    assert not RoundRobin.uses_load and a.asked == 0, "round-robin reads no load"


# --- least-loaded: capacity, queues, durations ----------------------------------------------


def test_least_loaded_fills_executors_in_proportion_to_their_slots() -> None:
    small, big = Fake("small", Capacity(1)), Fake("big", Capacity(3))
    load, _ = tracker(small, big)
    policy = LeastLoaded()
    counts: collections.Counter[str] = collections.Counter()
    for _ in range(400):
        chosen = pick(policy, load, [small, big])
        queue_on(load, chosen, 1)
        counts[chosen.label] += 1
    assert counts == {"small": 100, "big": 300}


def test_least_loaded_picks_the_executor_with_a_free_slot() -> None:
    a, b = Fake("a", Capacity(4)), Fake("b", Capacity(4))
    load, _ = tracker(a, b)
    queue_on(load, a, 4)  # a is full
    assert pick(LeastLoaded(), load, [a, b]) is b
    queue_on(load, b, 2)  # both have room or not: b still has two free slots
    assert pick(LeastLoaded(), load, [a, b]) is b


def test_least_loaded_picks_the_shorter_queue_per_slot() -> None:
    a, b = Fake("a", Capacity(2)), Fake("b", Capacity(2))
    load, _ = tracker(a, b)
    queue_on(load, a, 9)
    queue_on(load, b, 5)
    assert pick(LeastLoaded(), load, [a, b]) is b
    queue_on(load, b, 6)
    assert pick(LeastLoaded(), load, [a, b]) is a


def test_an_executor_of_unknown_capacity_counts_as_one_slot() -> None:
    known, unknown = Fake("known", Capacity(4)), Fake("unknown", None)
    load, _ = tracker(known, unknown)
    queue_on(load, unknown, 1)
    queue_on(load, known, 3)
    assert pick(LeastLoaded(), load, [unknown, known]) is known, "one free slot on known"
    queue_on(load, known, 1)
    # known: 5 tasks on 4 slots (1.25 d); unknown: 2 tasks on its one slot (2 d)
    assert pick(LeastLoaded(), load, [unknown, known]) is known
    queue_on(load, known, 4)  # known: 9 tasks on 4 slots (2.25 d)
    assert pick(LeastLoaded(), load, [unknown, known]) is unknown


def test_observed_durations_shift_the_choice() -> None:
    slow, fast = Fake("slow", Capacity(4)), Fake("fast", Capacity(4))
    load, clock = tracker(slow, fast)
    policy = LeastLoaded()
    # the same load: the first candidate wins the tie
    assert pick(policy, load, [slow, fast]) is slow
    for executor, seconds in ((slow, 2.0), (fast, 0.1)):
        (future,) = queue_on(load, executor, 1)
        clock.now += seconds
        future.set_result(None)
        load.finished(1000, future)
    assert load.stats["slow"].durations["app"] == pytest.approx(2.0)
    assert load.stats["fast"].durations["app"] == pytest.approx(0.1)
    # fast stays the better choice with a queue: 12 tasks on 4 slots x 0.1 s < 2 s
    queue_on(load, fast, 11)
    assert pick(policy, load, [slow, fast]) is fast
    queue_on(load, fast, 80)  # 92 tasks on 4 slots x 0.1 s = 2.3 s > 2 s
    assert pick(policy, load, [slow, fast]) is slow
    # another app has no observations: the queues alone decide, as with the default
    assert pick(policy, load, [slow, fast], name="other") is slow


def test_durations_are_per_app_and_fall_back_to_the_app_elsewhere() -> None:
    a, b = Fake("a", Capacity(1)), Fake("b", Capacity(1))
    load, clock = tracker(a, b)
    (future,) = queue_on(load, a, 1, name="fit")
    clock.now += 3.0
    future.set_result(1)
    load.finished(1000, future)
    assert load.duration(load.stats["a"], "fit") == pytest.approx(3.0)
    assert load.duration(load.stats["b"], "fit") == pytest.approx(3.0), "the app, elsewhere"
    assert load.duration(load.stats["a"], "plot") is None, "other apps say nothing"


def test_queue_waits_are_not_mistaken_for_slow_tasks() -> None:
    one = Fake("one", Capacity(1))
    load, clock = tracker(one, Fake("other", Capacity(1)))
    futures = queue_on(load, one, 4)  # each waits behind the ones before it
    for i, future in enumerate(futures):
        clock.now += 0.5
        future.set_result(None)
        load.finished(1000 + i, future)
    # turnarounds of 0.5, 1.0, 1.5, 2.0 s over queue factors 1, 2, 3, 4: 0.5 s each
    assert load.stats["one"].durations["app"] == pytest.approx(0.5)
    assert load.stats["one"].outstanding == 0


def test_failures_and_cancellations_count_as_finished_but_not_as_durations() -> None:
    a = Fake("a", Capacity(2))
    load, clock = tracker(a, Fake("b"))
    failed, cancelled = queue_on(load, a, 2)
    clock.now += 5
    failed.set_exception(ValueError("boom"))
    load.finished(1000, failed)
    cancelled.cancel()
    load.finished(1001, cancelled)
    assert load.stats["a"].outstanding == 0
    assert load.stats["a"].durations == {} and load.app_durations == {}


def test_a_stale_future_does_not_finish_the_next_attempt() -> None:
    a = Fake("a", Capacity(1))
    load, _ = tracker(a, Fake("b"))
    first: Future[Any] = Future()
    second: Future[Any] = Future()
    load.launched(7, a, "app", first)
    first.set_exception(OSError("lost"))
    load.finished(7, first)
    load.launched(7, a, "app", second)  # the retry
    load.finished(7, first)  # the first attempt's completion, once more
    assert load.stats["a"].outstanding == 1


def test_capacity_is_cached_for_a_moment_and_failures_mean_unknown() -> None:
    class Raises(Fake):
        def capacity(self) -> Capacity | None:
            raise RuntimeError("no idea")

    a, broken = Fake("a", Capacity(2)), Raises("broken")
    load, clock = tracker(a, broken)
    for _ in range(5):
        load.slots(load.stats["a"], clock())
    assert a.asked == 1
    a.reported = Capacity(8, 16)
    clock.now += CAPACITY_TTL
    assert load.slots(load.stats["a"], clock()) == (8, 16)
    assert load.slots(load.stats["broken"], clock()) == (1, 0)


def test_blocks_that_can_still_start_count_after_a_start_up_wait() -> None:
    busy = Fake("busy", Capacity(2))
    scaling = Fake("scaling", Capacity(0, 8))  # no worker yet, a block may come
    load, _ = tracker(busy, scaling)
    policy = LeastLoaded(block_start=30.0)
    queue_on(load, busy, 10)  # 11 tasks on 2 slots x 1 s: 5.5 s < 30 s
    assert pick(policy, load, [busy, scaling]) is busy
    queue_on(load, busy, 60)  # 71 tasks on 2 slots: 35.5 s > 30 s + 1 s
    assert pick(policy, load, [busy, scaling]) is scaling
    # an executor that failed (no slot, none possible) is chosen only when all did
    dead = Fake("dead", Capacity(0, 0))
    load2, _ = tracker(dead, Fake("alive", Capacity(1)))
    queue_on(load2, load2.stats["alive"].executor, 50)
    assert pick(policy, load2, [dead, load2.stats["alive"].executor]).label == "alive"


def test_the_reason_names_the_estimates() -> None:
    small, big = Fake("small", Capacity(1)), Fake("big", Capacity(3, 6))
    load, _ = tracker(small, big)
    queue_on(load, small, 2)
    executor, reason = LeastLoaded().choose(task(), [small, big], load, (), True)
    assert executor is big
    assert reason == (
        "least-loaded: big 1s (0 outstanding, 3 slots +6 possible); "
        "others: small 3s (2 outstanding, 1 slot)"
    )
    assert LeastLoaded().choose(task(), [small, big], load, (), False) == (big, None)


# --- data locations ---------------------------------------------------------------------


def test_data_locations_match_urls_and_local_paths() -> None:
    where = DataLocations({"cluster": ["/scratch/", "globus://abcd/"], "laptop": ["/home/"]})
    assert where.holders(File("/scratch/run/a.h5")) == {"cluster"}
    assert where.holders(File("file:///scratch/b.h5")) == {"cluster"}
    assert where.holders(File("globus://abcd/data/c.h5")) == {"cluster"}
    assert where.holders(File("globus://other/c.h5")) == frozenset()
    assert where.holders(File("/home/me/d.csv")) == {"laptop"}
    assert where.holders(File("relative.txt")) == frozenset()
    inputs = [File("/scratch/a"), File("/home/me/b"), File("/scratch/c"), "not a file", 3]
    assert where.away(inputs, ["cluster", "laptop", "cloud"]) == [1, 2, 3]
    assert where.away([File("x"), "y"], ["cluster"]) is None
    assert not DataLocations({}) and not DataLocations()


def test_least_loaded_prefers_the_executor_holding_the_inputs() -> None:
    laptop, cluster = Fake("laptop", Capacity(4)), Fake("cluster", Capacity(4))
    load, _ = tracker(laptop, cluster, locations={"cluster": ["/scratch/"]})
    policy = LeastLoaded(transfer_penalty=10.0)
    inputs = [File("/scratch/big.h5")]
    assert pick(policy, load, [laptop, cluster]) is laptop, "no inputs: the first wins the tie"
    assert pick(policy, load, [laptop, cluster], inputs) is cluster
    queue_on(load, cluster, 20)  # 21 tasks on 4 slots x 1 s: 5.25 s < 1 s + 10 s
    assert pick(policy, load, [laptop, cluster], inputs) is cluster
    queue_on(load, cluster, 30)  # 51 tasks: 12.75 s > 11 s: moving the file pays off
    chosen, reason = policy.choose(task(), [laptop, cluster], load, inputs, True)
    assert chosen is laptop
    assert reason is not None and "laptop 11s (0 outstanding, 4 slots, 1 input elsewhere)" in reason
    # inputs in no known location cost nothing anywhere
    assert pick(policy, load, [laptop, cluster], [File("/tmp/x")]) is laptop


# --- configuration ---------------------------------------------------------------------------


def test_config_selects_a_policy_by_name_table_or_instance() -> None:
    assert plait.Config().executor_policy == "round-robin"
    assert set(POLICIES) == {"round-robin", "least-loaded"}
    assert isinstance(make_policy("least-loaded"), LeastLoaded)
    assert isinstance(make_policy("round-robin"), RoundRobin)
    policy = make_policy({"name": "least-loaded", "transfer_penalty": 60, "block_start": 5})
    assert isinstance(policy, LeastLoaded)
    assert (policy.transfer_penalty, policy.block_start) == (60.0, 5.0)
    mine = LeastLoaded(default_duration=0.1)
    assert plait.Config(executor_policy=mine).executor_policy is mine
    assert make_policy(mine) is mine


def test_config_rejects_unknown_policies_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"'least-loded'.*did you mean 'least-loaded'"):
        plait.Config(executor_policy="least-loded")
    with pytest.raises(UnknownKeyError, match=r"no option 'transfer_penaly'.*'transfer_penalty'"):
        plait.Config(executor_policy={"name": "least-loaded", "transfer_penaly": 3})
    with pytest.raises(ConfigError, match="has no 'name'"):
        plait.Config(executor_policy={"transfer_penalty": 3})
    with pytest.raises(ConfigError, match="not a number of seconds"):
        plait.Config(executor_policy={"name": "least-loaded", "block_start": -1})
    with pytest.raises(ConfigError, match="not a policy name"):
        plait.Config(executor_policy=3)


def test_config_checks_data_locations() -> None:
    executors = [ThreadPoolExecutor(label="laptop"), ThreadPoolExecutor(label="cluster")]
    config = plait.Config(
        executors=executors, data_locations={"cluster": "/scratch/", "laptop": ["/home/"]}
    )
    assert config.data_locations == {"cluster": ["/scratch/"], "laptop": ["/home/"]}
    with pytest.raises(ConfigError, match=r"'clustr'.*did you mean 'cluster'"):
        plait.Config(executors=executors, data_locations={"clustr": ["/scratch/"]})
    with pytest.raises(ConfigError, match="not a list of path or URL prefixes"):
        plait.Config(data_locations={"cluster": [3]})
    with pytest.raises(ConfigError, match="must be a table"):
        plait.Config(data_locations=["/scratch/"])


def test_the_kernel_checks_data_locations_against_the_default_executor(load: Any) -> None:
    with pytest.raises(ConfigError, match="data_locations names executor 'cluster'"):
        load(executors=[], data_locations={"cluster": ["/scratch/"]})


def test_config_check_reports_a_bad_policy() -> None:
    result = check_config({"executor_policy": "fastest", "data_locations": {"a": 1}})
    found = {p.path: p.error for p in result.problems}
    assert isinstance(found["executor_policy"], ConfigError)
    assert "round-robin, least-loaded" in found["executor_policy"].message
    assert "data_locations" in found
    assert not check_config({"executor_policy": "least-loaded"}).problems


# --- the kernel: hook precedence, recorded choices, integration --------------------------


@python_app(executors=["small", "big"])
def where(seconds: float = 0.0, inputs: Sequence[Any] = ()) -> str:
    time.sleep(seconds)
    return threading.current_thread().name.split("_")[0].removeprefix("plait-")


@python_app(executors=["small"])
def pinned() -> str:
    return threading.current_thread().name.split("_")[0].removeprefix("plait-")


def unequal() -> list[Executor]:
    return [
        ThreadPoolExecutor(label="small", max_threads=1),
        ThreadPoolExecutor(label="big", max_threads=3),
    ]


class ChooseSmall:
    def __init__(self) -> None:
        self.calls = 0

    @plait.hookimpl
    def plait_choose_executor(
        self, task: TaskDescription, executors: Sequence[Executor]
    ) -> Executor | None:
        self.calls += 1
        if task.name != "where":
            return None
        return next(e for e in executors if e.label == "small")


def test_a_choose_executor_hook_takes_precedence_over_the_policy(
    load: Any, register_plugin: Callable[[object], None], task_events: Any
) -> None:
    hook = ChooseSmall()
    register_plugin(hook)
    load(executors=unequal(), executor_policy="least-loaded")
    assert {f.result(timeout=30) for f in [where() for _ in range(8)]} == {"small"}
    assert hook.calls == 8
    launched = [e for e in task_events.events if e.state.value == "launched"]
    assert [e.reason for e in launched] == ["chosen by a plait_choose_executor hook"] * 8


def test_the_choice_and_its_reason_are_recorded(
    load: Any, task_events: Any, run_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="plait.kernel.dispatcher"):
        dfk = load(executors=unequal(), executor_policy="least-loaded")
        futures = [where(0.2) for _ in range(4)] + [pinned()]  # none ends before the last choice
        results = [f.result(timeout=30) for f in futures]
        plait.clear()
    by_task = {e.task_id: e for e in task_events.events if e.state.value == "launched"}
    for future, result in zip(futures[:4], results[:4], strict=True):
        event = by_task[future.tid]
        assert event.executor == result
        assert event.reason is not None and event.reason.startswith(f"least-loaded: {result} ")
    assert by_task[futures[4].tid].reason is None, "one candidate: no choice, no reason"
    debug = [r.getMessage() for r in caplog.records if "chosen:" in r.getMessage()]
    assert len(debug) == 4 and all("least-loaded" in line for line in debug)
    log = (Path(dfk.run_dir) / "plait.log").read_text()
    assert "executor choices (least-loaded): where: big 3, small 1" in log


def test_least_loaded_shifts_work_to_the_bigger_executor(load: Any) -> None:
    load(executors=unequal(), executor_policy="least-loaded")
    counts = collections.Counter(f.result(timeout=60) for f in [where(0.02) for _ in range(120)])
    # the small executor has 1 of the 4 slots: about 30 tasks; round robin would give 60
    assert counts["big"] >= 2 * counts["small"], counts
    assert counts["small"] >= 10, counts


def test_round_robin_is_the_default(load: Any) -> None:
    load(executors=unequal())
    counts = collections.Counter(f.result(timeout=60) for f in [where() for _ in range(40)])
    assert counts == {"small": 20, "big": 20}


def test_least_loaded_runs_tasks_where_their_inputs_are(load: Any, tmp_path: Path) -> None:
    data = tmp_path / "scratch"
    data.mkdir()
    (data / "in.txt").write_text("x")
    (tmp_path / "elsewhere.txt").write_text("y")
    load(
        executors=unequal(),
        executor_policy="least-loaded",
        data_locations={"small": [f"{data}/"]},
    )
    here = [where(inputs=[File(str(data / "in.txt"))]) for _ in range(3)]
    assert [f.result(timeout=30) for f in here] == ["small"] * 3
    assert where(inputs=[File(str(tmp_path / "elsewhere.txt"))]).result(timeout=30) == "big"
