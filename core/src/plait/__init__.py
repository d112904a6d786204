"""plait: parallel scripting for science.

Decorate functions as apps, call them to get futures, and run the same script on a
laptop, a cluster or a remote endpoint::

    import plait

    @plait.python_app
    def double(x):
        return 2 * x

    with plait.load():
        print(sum(f.result() for f in [double(i) for i in range(10)]))
"""

from importlib.metadata import PackageNotFoundError, version

from plait.apps import (
    AUTO_LOGNAME,
    App,
    AppFuture,
    app_logger,
    bash_app,
    join_app,
    mpi_app,
    python_app,
)
from plait.config import Config
from plait.data import DataFuture, File
from plait.errors import PlaitError
from plait.interfaces import ResourceSpecification
from plait.kernel import (
    DataFlowKernel,
    TaskEvent,
    TaskState,
    get_all_checkpoints,
    get_last_checkpoint,
    id_for_memo,
)
from plait.kernel.current import clear, dfk, load, wait_for_current_tasks
from plait.plugins import hookimpl

try:
    __version__ = version("plait")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AUTO_LOGNAME",
    "App",
    "AppFuture",
    "Config",
    "DataFlowKernel",
    "DataFuture",
    "File",
    "PlaitError",
    "ResourceSpecification",
    "TaskEvent",
    "TaskState",
    "__version__",
    "app_logger",
    "bash_app",
    "clear",
    "dfk",
    "get_all_checkpoints",
    "get_last_checkpoint",
    "hookimpl",
    "id_for_memo",
    "join_app",
    "load",
    "mpi_app",
    "python_app",
    "wait_for_current_tasks",
]
