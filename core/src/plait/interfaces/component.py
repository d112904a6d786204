"""What every component kind has in common."""

from __future__ import annotations

from typing import ClassVar

MATURITY_LEVELS = ("development", "alpha", "beta", "stable", "deprecated", "unmaintained")


class Component:
    """Base of every component class.

    ``capabilities`` names the optional parts of its interface spec the component
    implements (for an executor: ``cancel``, ``resource_spec`` ...); ``maturity`` is
    the level it claims, checked against ``maturity.yaml``. ``conformance_kit``
    (``"module:Class"``) names the kit variant ``plait conformance`` runs on it when
    its kind's default does not fit, e.g.
    ``"plait.conformance.scheduler:SchedulerProviderConformance"`` for a provider whose
    blocks need a batch scheduler.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset()
    maturity: ClassVar[str] = "development"
    conformance_kit: ClassVar[str | None] = None

    @classmethod
    def has_capability(cls, name: str) -> bool:
        """True when the component declares capability ``name``."""
        return name in cls.capabilities
