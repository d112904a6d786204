"""plait-local: blocks as process groups on this host, and the generic launchers."""

from plait_local.launchers import SimpleLauncher, SingleNodeLauncher, WrappedLauncher
from plait_local.provider import LocalProvider

__all__ = ["LocalProvider", "SimpleLauncher", "SingleNodeLauncher", "WrappedLauncher"]
