"""Files as task inputs and outputs."""

from plait.data.files import File
from plait.data.futures import DataFuture

__all__ = ["DataFuture", "File"]
