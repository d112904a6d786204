"""Entry point ``rsync``: registers the rsync-over-ssh stager."""

from __future__ import annotations

from plait import hookimpl
from plait.registry import Registry
from plait_rsync.stager import RsyncStager


@hookimpl
def plait_register_stagers(registry: Registry) -> None:
    registry.add("rsync", RsyncStager)
