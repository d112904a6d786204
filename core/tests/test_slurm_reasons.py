"""Slurm's pending reasons for jobs it will never start (plait.slurm)."""

from __future__ import annotations

import pytest

from plait.slurm import never_starts


@pytest.mark.parametrize(
    ("reason", "forever"),
    [
        ("Job's account not known, so it can't use this partition (accounts allows plait)", True),
        ("Job's QOS not permitted to use this partition (a allows b not c)", True),
        ("BadConstraints", True),
        ("PartitionConfig", True),
        ("InvalidAccount", True),
        ("QOSNotAllowed", True),
        ("Priority", False),
        ("Resources", False),
        ("ReqNodeNotAvail", False),
        ("", False),
        (None, False),
    ],
)
def test_pending_reasons_that_never_resolve(reason: str | None, forever: bool) -> None:
    assert never_starts(reason) is forever
