"""``plait maturity``: check ``maturity.yaml`` against the code, print the docs table."""

from __future__ import annotations

from pathlib import Path

import click

from plait.maturity import DEFAULT_FILE, check_maturity, read_maturity_file, render_table

_FILE_OPTION = click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_FILE,
    show_default=True,
    help="The maturity file (the repository root's maturity.yaml).",
)


@click.group()
def maturity() -> None:
    """Component maturity: validate maturity.yaml, print the component table."""


@maturity.command()
@_FILE_OPTION
@click.option(
    "--report",
    "reports",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A conformance report (pytest --plait-conformance-report PATH) to check; repeatable.",
)
@click.option(
    "--run-kit",
    is_flag=True,
    help="Run the conformance kit on every listed component and check its report.",
)
def check(file: Path, reports: tuple[Path, ...], run_kit: bool) -> None:
    """Validate maturity.yaml against the installed code and the evidence.

    Checks the schema, that first-party entry points load, that every component the
    file's packages register is listed and vice versa, that each class's maturity and
    capabilities match its entry, that conformance reports show no failure, that rules
    marked done pass their validators and that each claimed level's rules are met.
    Prints every problem (and paste-ready YAML for missing rules); exits 1 on any.
    """
    result = check_maturity(file, reports=list(reports), run_kit=run_kit)
    click.echo(result.render())
    if not result.ok:
        raise SystemExit(1)


@maturity.command()
@_FILE_OPTION
def table(file: Path) -> None:
    """Print the component and rule tables (reST) the docs include.

    Regenerate the docs copy with
    ``plait maturity table > docs/_generated/components.inc``.
    """
    parsed, problems = read_maturity_file(file)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1)
    click.echo(render_table(parsed), nl=False)
