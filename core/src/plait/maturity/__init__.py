"""Maturity: the ``maturity.yaml`` schema, the levels and their rules, the checker behind
``plait maturity check``, and the run-time gate on immature components.

``maturity.yaml`` (at the repository root) lists every first-party component::

    components:
      - name: threads                  # the registry name (= entry-point name)
        kind: executor                 # executor, provider, launcher, serializer,
                                       # stager or error_reporter
        package: plait-threads         # the distribution that registers it
        level: alpha                   # see LEVEL_RULES
        since: "0.1.0"                 # the package version that introduced it
        owners: [plait-core]
        interface: {spec: executor, version: "0.1"}
        capabilities: [cancel]         # must equal the class's ``capabilities``
        rules:                         # rule id -> done | todo | {status: exempt, comment: why}
          conformance-core: done
          readme-example: done
        replaced_by: null              # deprecated components: the replacement's name

Levels are cumulative along ``development -> alpha -> beta -> stable``: a component
claiming a level must have every rule of that level and the levels below ``done`` (or
``exempt`` with a comment). ``deprecated`` keeps the alpha rules and adds its own;
``unmaintained`` has only its own. Rules of higher levels may be listed (``todo``) to
track progress. :data:`RULES` says which rules have an automatic validator.

At run time (:func:`check_component_allowed`, called when a configuration builds or
receives a component) a ``development`` component is refused unless it is enabled by name
(``Config(enable_development=[...])`` or ``PLAIT_ENABLE_DEVELOPMENT=a,b``); ``alpha``,
``deprecated`` and ``unmaintained`` components warn once per process with
:class:`~plait.errors.PlaitMaturityWarning` when the user names them (in a configuration
table or as an instance): plait's own built-ins do not warn about being ``alpha``, and
the executor the kernel picks when none is configured does not warn.
"""

from __future__ import annotations

from plait.maturity import rules as _rules
from plait.maturity.checker import CheckResult, check_maturity
from plait.maturity.evidence import run_conformance_kit
from plait.maturity.gate import (
    check_component_allowed,
    enabled_development,
    reset_maturity_warnings,
)
from plait.maturity.rules import (
    Evidence,
    Rule,
    RuleContext,
    Unverified,
    rules_for,
)
from plait.maturity.schema import (
    DEFAULT_FILE,
    ComponentEntry,
    InterfaceRef,
    MaturityFile,
    RuleStatus,
    load_maturity_file,
    read_maturity_file,
)
from plait.maturity.table import render_table

# Data has no __module__, so the docs read these two docstrings here; same objects.
RULES: dict[str, Rule] = _rules.RULES
"""Every rule, by id, in level order."""
LEVEL_RULES: dict[str, tuple[str, ...]] = _rules.LEVEL_RULES
"""Level -> the rule ids a component at that level must meet."""

__all__ = [
    # the run-time gate
    "check_component_allowed",
    "enabled_development",
    "reset_maturity_warnings",
    # maturity.yaml
    "DEFAULT_FILE",
    "load_maturity_file",
    "read_maturity_file",
    "MaturityFile",
    "ComponentEntry",
    "InterfaceRef",
    "RuleStatus",
    # levels and rules
    "RULES",
    "LEVEL_RULES",
    "rules_for",
    "Rule",
    "RuleContext",
    "Evidence",
    "Unverified",
    # the checker, the kit, the docs table
    "check_maturity",
    "CheckResult",
    "run_conformance_kit",
    "render_table",
]
