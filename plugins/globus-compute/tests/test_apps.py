"""Apps through the kernel (``plait.load``) on the Globus Compute executor: python and
bash apps, app logs, and apps with their own serializers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gc_tasks
import pytest

import plait
from plait.errors import AppTimeout, BashAppNoReturnError, BashExitFailure, SerializationError

pytestmark = pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")
TIMEOUT = 60.0


@pytest.fixture
def loaded(options: dict[str, Any], tmp_path: Path) -> Iterator[plait.DataFlowKernel]:
    """A kernel whose one executor is a GlobusComputeExecutor from a plain table."""
    table = {"kind": "globus-compute", "label": "gc", **options}
    config = plait.Config(executors=[table], run_dir=str(tmp_path / "run"), error_reporters=[])
    with plait.load(config) as dfk:
        yield dfk


def test_python_apps_return_values_and_raise_their_exceptions(loaded: Any) -> None:
    assert plait.python_app(gc_tasks.square)(7).result(TIMEOUT) == 49
    error = plait.python_app(gc_tasks.fail)("gone").exception(TIMEOUT)
    assert isinstance(error, KeyError) and "in fail" in str(error.__cause__)


def test_app_log_records_come_back_with_values_and_failures(loaded: Any) -> None:
    said = plait.python_app(gc_tasks.logs)("hello")
    assert said.result(TIMEOUT) == "hello"
    assert any("said hello" in line for line in said.logs(TIMEOUT))
    failed = plait.python_app(gc_tasks.logs_then_fails)("nope")
    assert isinstance(failed.exception(TIMEOUT), ValueError)
    assert any("WARNING" in line and "about to fail: nope" in line for line in failed.logs())


def test_bash_app_writes_its_streams_and_returns_zero(loaded: Any, tmp_path: Path) -> None:
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    echo = plait.bash_app(gc_tasks.echo_to)
    assert echo("hello", stdout=str(out), stderr=str(err)).result(TIMEOUT) == 0
    assert out.read_text() == "hello\n" and err.read_text() == "to-stderr\n"


def test_bash_app_exit_code_is_a_bash_exit_failure(loaded: Any) -> None:
    error = plait.bash_app(gc_tasks.exit_with)(3).exception(TIMEOUT)
    assert isinstance(error, BashExitFailure), error
    assert error.code == "PLT-202" and error.exitcode == 3
    assert "exit 3" in error.message
    assert error.details["stderr_tail"] == ["something broke"]
    assert error.details["stdout_tail"] == ["last words"]


def test_bash_app_walltime_stops_the_command(loaded: Any) -> None:
    error = plait.bash_app(gc_tasks.sleeper)(30, walltime=1).exception(TIMEOUT)
    assert isinstance(error, AppTimeout), error
    assert error.code == "PLT-203"


def test_bash_app_that_returns_no_command(loaded: Any) -> None:
    error = plait.bash_app(gc_tasks.not_a_command)().exception(TIMEOUT)
    assert isinstance(error, BashAppNoReturnError), error


def test_an_apps_own_serializers_carry_its_task_and_result(loaded: Any) -> None:
    """With serializers=["pickle"], the result goes through pickle on the worker (which
    refuses a lambda that the SDK's dill would carry)."""
    plain = plait.python_app(serializers=["pickle"])(gc_tasks.square)
    assert plain(6).result(TIMEOUT) == 36
    error = plait.python_app(serializers=["pickle"])(gc_tasks.make_lambda)().exception(TIMEOUT)
    assert isinstance(error, SerializationError), error
    assert "the task's result" in error.message
    assert plait.python_app(gc_tasks.make_lambda)().result(TIMEOUT)(1) == 2


def test_least_loaded_shifts_work_to_the_endpoint_with_free_workers(
    options: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One workflow over a local htex executor (one worker) and the endpoint (8
    workers): least-loaded sends most tasks where they finish first."""
    here = str(Path(gc_tasks.__file__).parent)  # htex's worker processes import gc_tasks
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    )
    laptop = {
        "kind": "htex",
        "label": "laptop",
        "max_workers_per_node": 1,
        "serializers": ["cloudpickle"],
    }
    endpoint = {"kind": "globus-compute", "label": "gc", "workers": 8, **options}
    config = plait.Config(
        executors=[laptop, endpoint],
        executor_policy="least-loaded",
        run_dir=str(tmp_path / "run"),
        error_reporters=[],
    )
    nap = plait.python_app(gc_tasks.nap_then_where, executors=["laptop", "gc"])
    with plait.load(config) as dfk:
        pids = [future.result(TIMEOUT) for future in [nap(0.05) for _ in range(60)]]
        choices = dict(dfk.dispatcher.choices)
    on_laptop = choices.get(("nap_then_where", "laptop"), 0)
    on_endpoint = choices.get(("nap_then_where", "gc"), 0)
    assert on_laptop + on_endpoint == len(pids) == 60
    assert on_endpoint >= 3 * on_laptop, f"{on_laptop} of 60 tasks ran on the laptop"
    assert os.getpid() not in pids  # every task ran in a worker process
