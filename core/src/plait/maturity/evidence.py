"""Conformance evidence: reading and merging the kit's JSON reports, and running the kit
on installed components (``plait maturity check --report`` / ``--run-kit``)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from plait.errors import ConformanceReportError
from plait.maturity.schema import _display


def read_conformance_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a ``--plait-conformance-report`` JSON file (a :class:`PlaitError` if bad)."""
    file = Path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise ConformanceReportError(
            f"conformance report {_display(file)} does not exist",
            hint="produce it with pytest --plait-conformance-report PATH, or use --run-kit",
        ) from None
    except ValueError as exc:
        raise ConformanceReportError(
            f"conformance report {_display(file)} is not JSON: {exc}",
            hint="pass a file written by pytest --plait-conformance-report",
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("components"), dict):
        raise ConformanceReportError(
            f"conformance report {_display(file)} has no 'components' mapping",
            hint="pass a file written by pytest --plait-conformance-report",
        )
    return data


def merge_reports(reports: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Component -> report, later reports' requirements overriding earlier ones."""
    merged: dict[str, dict[str, Any]] = {}
    for report in reports:
        for comp, part in report["components"].items():
            into = merged.setdefault(
                comp, {"kind": part.get("kind"), "spec_version": part.get("spec_version")}
            )
            into["spec_version"] = part.get("spec_version")
            into.setdefault("requirements", {}).update(part.get("requirements", {}))
    return merged


def run_conformance_kit(
    components: Sequence[tuple[str, str]], workdir: str | os.PathLike[str]
) -> tuple[dict[str, Any], list[str]]:
    """Run the conformance kit on installed components, given as ``(kind, name)`` pairs.

    Each run goes through ``plait conformance NAME --kind KIND --report ...``
    (``plait.cli.conformance``: a generated kit subclass, pytest in a subprocess), so
    the check and the command always run the kit the same way. Returns the merged JSON
    report and one message per component that could not be run (no kit for its kind,
    pytest missing, no report written).
    """
    import click

    from plait.cli.conformance import conformance

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    merged: dict[str, Any] = {"components": {}}
    problems: list[str] = []
    for kind, name in components:
        report = work / f"{kind}-{name}.json"
        output = io.StringIO()
        error: str | None = None
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            try:
                conformance.main(
                    [name, "--kind", kind, "--report", str(report)],
                    prog_name="plait conformance",
                    standalone_mode=False,
                )
            except click.ClickException as exc:
                error = exc.format_message()
        if not report.is_file():
            tail = "\n".join(output.getvalue().strip().splitlines()[-10:])
            problems.append(
                f"plait conformance {name} --kind {kind} produced no report: {error}"
                + (f"\n{tail}" if tail else "")
            )
            continue
        data = json.loads(report.read_text())
        merged.setdefault("kit_version", data.get("kit_version"))
        merged["components"].update(data.get("components", {}))
    return merged, problems
