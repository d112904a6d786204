"""Configuration: which executors to use and how the kernel behaves."""

from plait.config.config import CHECKPOINT_MODES, Config

__all__ = ["CHECKPOINT_MODES", "Config"]
