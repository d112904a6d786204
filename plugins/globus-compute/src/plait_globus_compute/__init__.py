"""plait-globus-compute: run apps on a Globus Compute endpoint."""

from plait_globus_compute.errors import (
    EndpointOfflineError,
    EndpointVersionMismatchError,
    PayloadTooLargeError,
)
from plait_globus_compute.executor import GlobusComputeExecutor

__all__ = [
    "EndpointOfflineError",
    "EndpointVersionMismatchError",
    "GlobusComputeExecutor",
    "PayloadTooLargeError",
]
