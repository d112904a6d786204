"""plait-rsync against the stager conformance kit, over a real sshd and rsync on
loopback (:mod:`plait_rsync.testing`)."""

from __future__ import annotations

from typing import Any

import pytest

from plait_rsync import RsyncStager
from plait_rsync.conformance import RsyncConformance


class TestRsyncStager(RsyncConformance):
    """The kit as ``plait conformance rsync`` runs it: the server's options only."""

    component_class = RsyncStager


class TestRsyncStagerWithOptions(RsyncConformance):
    """The kit with rsync options a user might give (``--archive`` implies recursion and
    symbolic links as links, which the stager turns off again), no retries and a short
    timeout."""

    component_class = RsyncStager

    @pytest.fixture
    def component_kwargs(self) -> dict[str, Any]:
        return {"rsync_options": ["--archive", "--compress"], "retries": 0, "timeout": 10}
