"""docs/tutorials/serialization.rst, run: the example msgpack serializer passes the
serializer kit, and the tutorial's workflow runs on plait-htex with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from plait_example_msgpack import MsgpackSerializer

from plait.conformance.serializer import SerializerConformance
from plait.serialization import SerializerChain

EXAMPLE = Path(__file__).parents[1] / "examples" / "msgpack-serializer"


class TestMsgpackSerializer(SerializerConformance):
    component_class = MsgpackSerializer


@pytest.mark.filterwarnings("ignore::plait.errors.PlaitMaturityWarning")
def test_records_go_as_msgpack_and_the_rest_falls_through() -> None:
    chain = SerializerChain(["example-msgpack", "pickle", "cloudpickle"])
    record = {"name": "run-1", "values": [1, 2]}
    assert chain.dumps(record).startswith(b"example-msgpack\n")
    assert chain.dumps((1, 2)).startswith(b"pickle\n"), "tuples are not msgpack's"
    assert chain.dumps(lambda x: x).startswith(b"cloudpickle\n")
    assert chain.loads(chain.dumps(record)) == record


def test_the_tutorial_workflow_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-W", "ignore", str(EXAMPLE / "workflow.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    totals = [line.split() for line in done.stdout.splitlines()]
    assert totals == [[f"run-{i}", str(sum(range(i)))] for i in range(5)]
