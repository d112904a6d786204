"""The docs table: :func:`render_table` renders ``maturity.yaml`` and the rules as the reST
that ``docs/_generated/components.inc`` holds (``plait maturity table``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from plait.maturity.rules import RULES
from plait.maturity.schema import MaturityFile
from plait.registry import KIND_BASES


def _rst_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            out.append(f"   {'*' if i == 0 else ' '} - {cell}".rstrip())
    return "\n".join(out) + "\n"


def _rst_literals(text: str) -> str:
    """Markdown-style `code` spans as reST ``literals``."""
    return re.sub(r"`([^`]+)`", r"``\1``", text)


def render_table(parsed: MaturityFile) -> str:
    """The reST the docs include (``docs/_generated/components.inc``): the component
    table and the rule table."""
    order = list(KIND_BASES)
    comps = sorted(
        parsed.components,
        key=lambda e: (order.index(e.kind) if e.kind in order else len(order), e.name),
    )
    rows = [
        [
            e.kind,
            f"``{e.name}``",
            f"``{e.package}``",
            e.level,
            ", ".join(f"``{c}``" for c in sorted(e.capabilities)) or "none",
            f"{e.interface.spec} {e.interface.version}",
        ]
        for e in comps
    ]
    rule_rows = [
        [
            r.level,
            f"``{r.id}``",
            _rst_literals(r.summary),
            _rst_literals(r.checked_by) if r.automatic else "manual (not checked automatically)",
        ]
        for r in RULES.values()
    ]
    head = (
        ".. Generated from maturity.yaml by `plait maturity table`; do not edit.\n"
        ".. core/tests/test_maturity.py fails when this file is stale.\n\n"
    )
    return (
        head
        + _rst_table(
            "First-party components",
            ["Kind", "Name", "Package", "Level", "Capabilities", "Interface"],
            rows,
        )
        + "\n"
        + _rst_table(
            "Maturity rules (levels are cumulative)",
            ["Level", "Rule", "What must hold", "How plait maturity check verifies it"],
            rule_rows,
        )
    )
