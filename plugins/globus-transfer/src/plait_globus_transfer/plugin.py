"""Entry point ``globus-transfer``: registers the Globus Transfer stager and adds the
``plait globus`` commands (login, logout, status)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plait import hookimpl
from plait.registry import Registry
from plait_globus_transfer.stager import GlobusTransferStager

if TYPE_CHECKING:
    import click


@hookimpl
def plait_register_stagers(registry: Registry) -> None:
    registry.add("globus-transfer", GlobusTransferStager)


@hookimpl
def plait_add_commands(group: click.Group) -> None:
    from plait_globus_transfer.cli import globus

    group.add_command(globus)
