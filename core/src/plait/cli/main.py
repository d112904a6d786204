"""``plait``: inspect installed plugins (more subcommands come with their features)."""

from __future__ import annotations

import json
from typing import Any

import click

from plait.cli.config import config
from plait.cli.conformance import conformance
from plait.cli.maturity import maturity
from plait.cli.perf import perf
from plait.errors import PlaitError
from plait.plugins import get_plugin_system
from plait.registry import KIND_BASES


def plugin_report() -> list[dict[str, Any]]:
    """One entry per loaded plugin: distribution, version, components, hooks."""
    system = get_plugin_system()
    report = []
    for info in sorted(system.plugins.values(), key=lambda i: i.name):
        module = info.module.split(":")[0]
        components = []
        for kind in KIND_BASES:
            reg = system.registry(kind)
            for name, cls in reg.items():
                origin = reg.origins[name]
                if origin == module or origin.startswith(module + "."):
                    components.append(
                        {
                            "kind": kind,
                            "name": name,
                            "class": f"{cls.__module__}.{cls.__qualname__}",
                            "maturity": cls.maturity,
                            "capabilities": sorted(cls.capabilities),
                        }
                    )
        report.append(
            {
                "name": info.name,
                "distribution": info.distribution,
                "version": info.version,
                "module": module,
                "components": components,
                "hooks": system.implemented_hooks(info.name),
            }
        )
    return report


class PlaitGroup(click.Group):
    """The ``plait`` command group: the core's subcommands plus those plugins add
    through ``plait_add_commands`` (loaded when a subcommand is looked up)."""

    _plugins_added = False

    def _add_plugin_commands(self) -> None:
        if not self._plugins_added:
            self._plugins_added = True
            get_plugin_system().hook.plait_add_commands(group=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._add_plugin_commands()
        return super().get_command(ctx, cmd_name)


@click.group(cls=PlaitGroup)
@click.version_option(package_name="plait")
def main() -> None:
    """plait: parallel scripting for science."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins(as_json: bool) -> None:
    """List installed plugins with their components and hooks."""
    try:
        report = plugin_report()
    except PlaitError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for entry in report:
        click.echo(f"{entry['name']}  ({entry['distribution']} {entry['version']})")
        for comp in entry["components"]:
            caps = ", ".join(comp["capabilities"]) or "-"
            click.echo(
                f"  {comp['kind']:<15} {comp['name']:<12} {comp['maturity']:<12} "
                f"capabilities: {caps}"
            )
        click.echo(f"  hooks: {', '.join(entry['hooks'])}")


main.add_command(config)
main.add_command(conformance)
main.add_command(maturity)
main.add_command(perf)
