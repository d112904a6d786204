"""Choosing among an app's executors: selection policies and the load they read.

See :mod:`plait.scheduling.policies` for the policies and :mod:`plait.scheduling.load`
for what the kernel tracks for them.
"""

from plait.scheduling.load import DataLocations, ExecutorStats, LoadTracker
from plait.scheduling.policies import (
    POLICIES,
    LeastLoaded,
    RoundRobin,
    SelectionPolicy,
    check_policy,
    make_policy,
)

__all__ = [
    "POLICIES",
    "DataLocations",
    "ExecutorStats",
    "LeastLoaded",
    "LoadTracker",
    "RoundRobin",
    "SelectionPolicy",
    "check_policy",
    "make_policy",
]
