"""plait-rsync: ``rsync://[user@]host[:port]/path`` inputs and outputs, copied with rsync
over ssh on the worker that runs the task."""

from plait_rsync.stager import RsyncStager

__all__ = ["RsyncStager"]
