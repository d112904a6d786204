"""The executor's options: validation, configuration files, and what construction does."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

import plait
from plait.errors import ConfigError, ExecutorUnavailableError
from plait.interfaces import TaskDescription
from plait_globus_compute import GlobusComputeExecutor

ENDPOINT = "2b3c4d5e-0000-4000-8000-00000000abcd"
README = Path(__file__).parents[1] / "README.md"


def test_endpoint_id_is_required_and_named() -> None:
    with pytest.raises(ConfigError) as info:
        GlobusComputeExecutor()
    assert info.value.code == "PLT-110"
    assert info.value.details["option"] == "endpoint_id"
    assert "globus-compute-endpoint list" in info.value.hint


@pytest.mark.parametrize("given", [ENDPOINT.upper(), uuid.UUID(ENDPOINT)])
def test_ids_are_kept_as_canonical_uuid_text(given: Any) -> None:
    executor = GlobusComputeExecutor(endpoint_id=given, function_id=given)
    assert executor.endpoint_id == ENDPOINT
    assert executor.function_id == ENDPOINT


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("endpoint_id", "my-endpoint"),
        ("function_id", "not-a-uuid"),
        ("client", "a client"),
        ("user_endpoint_config", {"account": object()}),
        ("user_endpoint_config", {1: "x"}),
        ("user_endpoint_config", ["account"]),
        ("batch_size", 0),
        ("api_burst_limit", 9),
        ("api_burst_window_s", 0),
        ("api_burst_window_s", 33),
        ("amqp_port", 1234),
        ("amqp_port", True),
        ("max_payload_bytes", 0),
        ("max_in_flight", 0),
        ("mpi", "yes"),
        ("require_online", 1),
        ("label", " "),
    ],
)
def test_invalid_options_are_config_errors_naming_the_option(option: str, value: Any) -> None:
    options: dict[str, Any] = {"endpoint_id": ENDPOINT, option: value}
    with pytest.raises(ConfigError) as info:
        GlobusComputeExecutor(**options)
    assert info.value.details["option"] == option
    assert option in str(info.value)


def test_runs_mpi_follows_the_mpi_option() -> None:
    assert not GlobusComputeExecutor(endpoint_id=ENDPOINT).runs_mpi
    assert GlobusComputeExecutor(endpoint_id=ENDPOINT, mpi=True).runs_mpi


def test_submit_outside_start_and_shutdown_is_refused(options: dict[str, Any]) -> None:
    executor = GlobusComputeExecutor(**options)
    with pytest.raises(ExecutorUnavailableError, match="not running"):
        executor.submit(TaskDescription(0, "t"), print, (), {})


def test_the_readme_example_configures_the_executor(tmp_path: Path) -> None:
    """The TOML block of the README builds a GlobusComputeExecutor (it logs in only at
    start, so building it needs no service)."""
    block = re.search(r"```toml\n(.*?)```", README.read_text(), re.DOTALL)
    assert block is not None
    path = tmp_path / "plait.toml"
    path.write_text(block.group(1))
    config = plait.Config.from_file(path)
    executor = config.executors[0]
    assert isinstance(executor, GlobusComputeExecutor)
    assert executor.label == "hpc" and executor.max_in_flight == 1000
    assert executor.user_endpoint_config == {"account": "abc123", "walltime": "01:00:00"}


def test_unknown_option_gets_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"endpoint\b.*did you mean 'endpoint_id'"):
        plait.Config(executors=[{"kind": "globus-compute", "endpoint": ENDPOINT}])
