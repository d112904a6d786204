"""``plait config check FILE`` and ``plait config show FILE``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from plait.config.check import CheckResult, Problem, check_config
from plait.config.config import read_config_file
from plait.config.resolved import resolved_config
from plait.errors import PlaitError


def _check_file(path: str) -> CheckResult:
    try:
        data = read_config_file(path)
    except PlaitError as exc:
        return CheckResult(problems=[Problem("", exc)])
    return check_config(data)


@click.group()
def config() -> None:
    """Check a configuration file, or print it resolved."""


@config.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def check(file: str, as_json: bool) -> None:
    """Check FILE (TOML or YAML) without running anything; report every problem.

    Exit status 0 when the configuration is valid, 1 when it has problems.
    """
    result = _check_file(file)
    if as_json:
        problems = [p.as_dict() for p in result.problems]
        click.echo(json.dumps({"file": file, "ok": result.ok, "problems": problems}, indent=2))
    elif result.ok:
        click.echo(f"{file}: OK")
    else:
        count = len(result.problems)
        click.echo(f"{file}: {count} problem{'s' if count > 1 else ''}", err=True)
        for problem in result.problems:
            click.echo(f"  {problem}", err=True)
    sys.exit(0 if result.ok else 1)


@config.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
def show(file: str, as_json: bool) -> None:
    """Print FILE's configuration with every default filled in."""
    result = _check_file(file)
    if result.config is None:
        for problem in result.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException(f"{file} has problems: run `plait config check {file}`")
    data: dict[str, Any] = resolved_config(result.config)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
