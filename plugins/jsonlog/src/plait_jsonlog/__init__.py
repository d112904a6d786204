"""plait-jsonlog: failed tasks as JSON Lines, one object per failure, for machines."""

from plait_jsonlog.reporter import JsonLogErrorReporter

__all__ = ["JsonLogErrorReporter"]
