"""plait-example-thirdparty: an example plait plugin published outside plait.

``example-process`` runs tasks in worker processes; ``example-json`` serializes plain
data as JSON.
"""

from plait_example_thirdparty.executor import ProcessExecutor, WorkerLost
from plait_example_thirdparty.serializer import JsonSerializer

__all__ = ["JsonSerializer", "ProcessExecutor", "WorkerLost"]
