"""How a block's manager in MPI mode finds the hosts of its nodes."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from plait_htex.nodes import block_hosts, scheduler_hosts


def test_pbs_node_file_hosts_count_once_in_order(tmp_path: Path) -> None:
    nodefile = tmp_path / "nodes"
    nodefile.write_text("n2\nn2\nn1\nn3\nn1\n")
    assert scheduler_hosts({"PBS_NODEFILE": str(nodefile)}) == ["n2", "n1", "n3"]


def test_lsf_host_lists() -> None:
    assert scheduler_hosts({"LSB_MCPU_HOSTS": "a 16 b 16"}) == ["a", "b"]
    assert scheduler_hosts({"LSB_HOSTS": "a a b b c"}) == ["a", "b", "c"]


def test_slurm_node_list_is_expanded_by_scontrol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scontrol = tmp_path / "scontrol"
    scontrol.write_text('#!/bin/sh\n[ "$3" = "nid[01-02]" ] && printf "nid01\\nnid02\\n"\n')
    scontrol.chmod(scontrol.stat().st_mode | stat.S_IXUSR)
    env = {"SLURM_JOB_NODELIST": "nid[01-02]"}
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert scheduler_hosts(env) == ["nid01", "nid02"]


def test_a_missing_or_unreadable_source_gives_no_hosts(tmp_path: Path) -> None:
    assert scheduler_hosts({}) == []
    assert scheduler_hosts({"PBS_NODEFILE": str(tmp_path / "missing")}) == []


def test_the_block_gets_exactly_its_nodes(tmp_path: Path) -> None:
    nodefile = tmp_path / "nodes"
    nodefile.write_text("a\nb\nc\n")
    env = {"PBS_NODEFILE": str(nodefile)}
    assert block_hosts(2, env) == ["a", "b"]
    assert block_hosts(4, env) == ["a", "b", "c", "a"]
    assert block_hosts(2, {}) == [socket.gethostname()] * 2
