"""Local Sphinx extension for the plait docs.

Directives:

``.. plait-error-catalogue::``
    One section per class of :func:`plait.errors.all_error_classes`, in code order.
    The section id is the lower-case code (``plt-100``), which is the anchor every
    error's ``docs_url`` points at; the title is ``PLT-100: <title>``, the class
    docstring is the "Cause" and ``default_hint`` the "Fix". A summary table comes
    first. Each id is also a Sphinx label, so ``:ref:`plt-100``` works.

``.. plait-component-options::``
    One section per installed component (kind, then name): its class, maturity and
    distribution, and a table of the options of its attrs class (name, type,
    default), as ``kind = "<name>"`` tables in a configuration take them.

``.. plait-interface-specs::``
    A list of the spec files in ``interface-specs/`` at the repository root, with
    each file's first heading and the requirement ids (``EXE-001`` ...) it defines.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO_ROOT / "interface-specs"
REQUIREMENT_ID = re.compile(r"\b[A-Z]{3}-\d{3}\b")
SPEC_VERSION = re.compile(r"^Spec version:\W*([0-9][0-9.]*)", re.MULTILINE)


def _class_ref(target: str, text: str | None = None) -> addnodes.pending_xref:
    """A ``:py:class:`` cross reference to ``target`` shown as ``text``."""
    shown = text or target
    ref = addnodes.pending_xref(
        "", refdomain="py", reftype="class", reftarget=target, refexplicit=True, refwarn=True
    )
    ref += nodes.literal(shown, shown, classes=["xref", "py", "py-class"])
    return ref


def _inline_code(text: str) -> list[nodes.Node]:
    """Plain text with ```code``` spans (as written in hints) turned into literals."""
    out: list[nodes.Node] = []
    for i, part in enumerate(text.split("`")):
        if not part:
            continue
        out.append(nodes.literal(part, part) if i % 2 else nodes.Text(part))
    return out


class ErrorCatalogue(SphinxDirective):
    """Render every plait error class as a catalogue entry."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from plait import errors

        self.env.note_dependency(inspect.getfile(errors))
        classes = errors.all_error_classes()
        result: list[nodes.Node] = [self._summary(classes)]
        for cls in classes:
            result.append(self._entry(cls))
        return result

    def _summary(self, classes: list[type[Any]]) -> nodes.table:
        table = nodes.table(classes=["plait-error-summary"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (12, 50, 38):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row([nodes.Text("Code"), nodes.Text("Title"), nodes.Text("Class")])
        body = nodes.tbody()
        group += body
        for cls in classes:
            anchor = cls.code.lower()
            link = nodes.reference("", "", internal=True, refid=anchor)
            link += nodes.literal(cls.code, cls.code)
            qualname = f"plait.errors.{cls.__name__}"
            body += self._row([link, nodes.Text(cls.title), _class_ref(qualname)])
        return table

    @staticmethod
    def _row(cells: list[nodes.Node]) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            para = nodes.paragraph()
            para += cell
            entry += para
            row += entry
        return row

    def _entry(self, cls: type[Any]) -> nodes.section:
        anchor = cls.code.lower()
        section = nodes.section(ids=[anchor], names=[anchor])
        self.state.document.note_explicit_target(section, section)
        title = f"{cls.code}: {cls.title}"
        section += nodes.title(title, title)

        qualname = f"plait.errors.{cls.__name__}"
        raised = nodes.paragraph()
        raised += nodes.strong("Raised as: ", "Raised as: ")
        raised += _class_ref(qualname)
        bases = [b.__name__ for b in cls.__mro__[1:] if b.__module__ == cls.__module__]
        if bases:
            raised += nodes.Text(", a subclass of ")
            raised += _class_ref(f"plait.errors.{bases[0]}", bases[0])
        section += raised

        cause_doc = inspect.cleandoc(cls.__doc__ or "") or "(no description)"
        cause = nodes.paragraph()
        cause += nodes.strong("Cause", "Cause")
        section += cause
        section.extend(self.parse_text_to_nodes(cause_doc))

        fix = nodes.paragraph()
        fix += nodes.strong("Fix", "Fix")
        section += fix
        hint = cls.default_hint or "See the message: it names the value to change."
        section += nodes.paragraph("", "", *_inline_code(hint))
        return section


class InterfaceSpecs(SphinxDirective):
    """List the interface spec files and the requirement ids each defines."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        specs = sorted(SPEC_DIR.glob("*.md")) if SPEC_DIR.is_dir() else []
        self.env.note_dependency(str(SPEC_DIR))
        if not specs:
            text = "No interface spec has been written yet."
            return [nodes.paragraph(text, text)]
        listing = nodes.bullet_list()
        for path in specs:
            self.env.note_dependency(str(path))
            text = path.read_text(encoding="utf-8")
            heading = next(
                (line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")),
                path.stem,
            )
            ids = sorted(set(REQUIREMENT_ID.findall(text)))
            item = nodes.list_item()
            para = nodes.paragraph()
            name = f"interface-specs/{path.name}"
            para += nodes.literal(name, name)
            para += nodes.Text(f": {heading}")
            version = SPEC_VERSION.search(text)
            if version:
                para += nodes.Text(f", version {version.group(1)}")
            if ids:
                para += nodes.Text(f" ({len(ids)} requirements: ")
                for i, req in enumerate(ids):
                    if i:
                        para += nodes.Text(", ")
                    para += nodes.literal(req, req)
                para += nodes.Text(")")
            item += para
            listing += item
        return [listing]


class ComponentOptions(SphinxDirective):
    """Render the options of every installed component, read from its attrs class."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        import attrs

        from plait.plugins import registry
        from plait.registry import FIRST_PARTY, KIND_BASES

        out: list[nodes.Node] = []
        for kind in KIND_BASES:
            for name, cls in registry(kind).items():
                section = nodes.section(ids=[f"options-{kind}-{name}".replace("_", "-")])
                section += nodes.title(text=f"{kind.replace('_', ' ')} {name!r}")
                para = nodes.paragraph()
                para += nodes.literal(f'kind = "{name}"', f'kind = "{name}"')
                para += nodes.Text(": ")
                path = f"{cls.__module__}.{cls.__qualname__}"
                para += nodes.literal(path, path)
                package = FIRST_PARTY.get((kind, name), "a third-party plugin")
                para += nodes.Text(f", maturity {cls.maturity}, from {package}.")
                section += para
                fields = [f for f in attrs.fields(cls) if f.init] if attrs.has(cls) else []
                if not fields:
                    section += nodes.paragraph(text="It takes no options.")
                else:
                    section += self._table(fields)
                out.append(section)
        return out

    @staticmethod
    def _table(fields: list[Any]) -> nodes.table:
        import attrs

        table = nodes.table()
        group = nodes.tgroup(cols=3)
        table += group
        for width in (25, 35, 40):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        body = nodes.tbody()
        group += body
        rows = [("option", "type", "default")]
        for field in fields:
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                shown = "(computed)" if default.takes_self else repr(default.factory())
            elif default is attrs.NOTHING:
                shown = "(required)"
            else:
                shown = repr(default)
            kind = (
                field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
            )
            rows.append((field.alias, str(kind), shown[:80]))
        for i, cells in enumerate(rows):
            row = nodes.row()
            for cell in cells:
                entry = nodes.entry()
                entry += nodes.paragraph(
                    "", "", nodes.literal(cell, cell) if i else nodes.Text(cell)
                )
                row += entry
            (head if i == 0 else body).append(row)
        return table


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("plait-error-catalogue", ErrorCatalogue)
    app.add_directive("plait-component-options", ComponentOptions)
    app.add_directive("plait-interface-specs", InterfaceSpecs)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
