"""App decorators and the futures they return."""

from plait.apps.applog import app_logger
from plait.apps.decorators import App, bash_app, join_app, mpi_app, python_app
from plait.apps.futures import AppFuture
from plait.apps.streams import AUTO_LOGNAME

__all__ = [
    "AUTO_LOGNAME",
    "App",
    "AppFuture",
    "app_logger",
    "bash_app",
    "join_app",
    "mpi_app",
    "python_app",
]
