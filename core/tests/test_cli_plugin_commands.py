"""Plugins add ``plait`` subcommands through the ``plait_add_commands`` hook."""

from __future__ import annotations

import click
from click.testing import CliRunner

from plait.cli.main import PlaitGroup
from plait.plugins import get_plugin_system, hookimpl


@click.command()
@click.argument("name")
def greet(name: str) -> None:
    """Say hello."""
    click.echo(f"hello {name}")


class AddsGreet:
    calls = 0

    @hookimpl
    def plait_add_commands(self, group: click.Group) -> None:
        AddsGreet.calls += 1
        group.add_command(greet)


def test_a_plugin_command_runs_and_is_listed_once_loaded() -> None:
    cli = PlaitGroup(name="plait")
    system = get_plugin_system()
    plugin = AddsGreet()
    system.pm.register(plugin)
    try:
        assert CliRunner().invoke(cli, ["greet", "plait"]).output == "hello plait\n"
        listing = CliRunner().invoke(cli, ["--help"]).output
        unknown = CliRunner().invoke(cli, ["no-such-command"])
    finally:
        system.pm.unregister(plugin)
    assert "greet" in listing and "Say hello." in listing
    assert unknown.exit_code == 2 and "No such command 'no-such-command'" in unknown.output
    assert AddsGreet.calls == 1  # the hook runs once per command group
