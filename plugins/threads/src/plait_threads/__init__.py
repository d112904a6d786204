"""plait-threads: run apps on a pool of threads in the submitting process."""

from plait_threads.executor import ThreadPoolExecutor

__all__ = ["ThreadPoolExecutor"]
