"""MPI requests on the submit side: the typed resource specification's rank layout,
``mpi_app`` declarations, and the kernel sending MPI tasks only where they can run.
(MPI apps running with real ranks: ``tests/test_mpi_apps.py``.)"""

from __future__ import annotations

from typing import Any

import pytest

import plait
from plait import ResourceSpecification, bash_app, mpi_app, python_app
from plait.apps.mpi import _ranges, task_launch
from plait.errors import (
    CapabilityError,
    ConfigError,
    MpiLaunchError,
    ResourceSpecificationError,
)
from plait.interfaces.types import MpiRequest


@pytest.mark.parametrize(
    ("given", "layout"),
    [
        ({"num_ranks": 4}, (1, 4, 4)),
        ({"num_nodes": 2}, (2, 1, 2)),
        ({"num_nodes": 2, "ranks_per_node": 3}, (2, 3, 6)),
        ({"num_nodes": 2, "num_ranks": 5}, (2, 3, 5)),
        ({"ranks_per_node": 2, "num_ranks": 5}, (3, 2, 5)),
        ({"num_nodes": 3, "ranks_per_node": 2, "num_ranks": 5}, (3, 2, 5)),
        ({"launcher_options": "--bind-to core"}, (1, 1, 1)),
    ],
)
def test_missing_numbers_of_the_rank_layout_are_filled_in(
    given: dict[str, Any], layout: tuple[int, int, int]
) -> None:
    request = ResourceSpecification.from_dict(given).mpi()
    assert request is not None
    assert (request.num_nodes, request.ranks_per_node, request.num_ranks) == layout


def test_launcher_options_are_split_like_a_shell_would() -> None:
    spec = ResourceSpecification(num_ranks=2, launcher_options="--bind-to core -x 'A B'")
    assert spec.mpi() == MpiRequest(1, 2, 2, ("--bind-to", "core", "-x", "A B"))


def test_a_spec_without_mpi_keys_is_no_mpi_request() -> None:
    assert ResourceSpecification(cores=2, walltime=10).mpi() is None


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"num_nodes": 2, "ranks_per_node": 2, "num_ranks": 5}, "does not fit"),
        ({"num_nodes": 3, "ranks_per_node": 2, "num_ranks": 4}, "does not fit"),
        ({"num_ranks": 0}, "must be an integer >= 1"),
        ({"num_nodes": -1}, "must be an integer >= 1"),
        ({"launcher_options": "--x\n--y"}, "one line"),
        ({"launcher_options": "'unclosed"}, "quotation"),
    ],
)
def test_impossible_layouts_are_refused_where_written(given: dict[str, Any], words: str) -> None:
    with pytest.raises(ResourceSpecificationError, match=words):
        ResourceSpecification.from_dict(given)


def test_an_mpi_app_must_take_comm() -> None:
    with pytest.raises(ConfigError, match="no parameter 'comm'") as info:

        @mpi_app
        def no_comm(x: int) -> int:
            return x

    assert "comm" in info.value.hint

    @mpi_app
    def keyword(x: int, *, comm: Any) -> int:
        return x

    @mpi_app
    def anything(**kwargs: Any) -> int:
        return 0

    assert (keyword.kind, anything.kind) == ("mpi", "mpi")


@python_app
def inc(x: int, resource_specification: Any = None) -> int:
    return x + 1


@bash_app
def command(resource_specification: Any = None) -> str:
    return "$PLAIT_MPI_PREFIX true"


@mpi_app
def ranks(*, comm: Any) -> int:
    return int(comm.Get_size())


def test_mpi_tasks_need_an_executor_that_runs_them(dfk: plait.DataFlowKernel) -> None:
    for call in (lambda: ranks(), lambda: command(resource_specification={"num_ranks": 2})):
        with pytest.raises(CapabilityError, match="runs MPI tasks") as info:
            call()
        assert "mpi_launcher" in info.value.hint


def test_a_python_app_cannot_ask_for_ranks(dfk: plait.DataFlowKernel) -> None:
    with pytest.raises(ResourceSpecificationError, match="only MPI tasks") as info:
        inc(1, resource_specification={"num_ranks": 2})
    assert "mpi_app" in info.value.hint


def test_an_mpi_task_run_without_placement_says_so() -> None:
    with pytest.raises(MpiLaunchError, match="ran without nodes"):
        task_launch("app", MpiRequest(1, 1, 1))


def test_rank_lists_are_shown_as_ranges() -> None:
    assert _ranges([0, 1, 2, 5, 7, 8]) == "0-2, 5, 7-8"
    assert _ranges([3]) == "3"
