"""What plait knows of Slurm that more than one provider needs: ``plait-slurm`` runs
Slurm's commands itself, ``plait-psij`` reaches Slurm through PSI/J, and both report a
job Slurm will never start."""

from __future__ import annotations

NEVER_STARTS = frozenset(
    {
        "AccountNotAllowed",
        "BadConstraints",
        "DependencyNeverSatisfied",
        "InvalidAccount",
        "InvalidQOS",
        "PartitionConfig",
        "PartitionNodeLimit",
        "PartitionTimeLimit",
        "QOSNotAllowed",
    }
)
"""Pending reasons after which Slurm will not start the job without someone changing
it or the cluster's configuration."""

_NEVER_STARTS_TEXT = (
    "account not known",
    "qos not known",
    "can't use this partition",
    "not permitted to use this partition",
)
"""Parts of the sentences Slurm gives instead of a reason code for such jobs."""


def never_starts(reason: str | None) -> bool:
    """True when a job pending for ``reason`` would wait for ever (an account or QOS the
    partition refuses, impossible constraints, a request over the partition's limits)."""
    if not reason:
        return False
    lowered = reason.lower()
    return reason in NEVER_STARTS or any(text in lowered for text in _NEVER_STARTS_TEXT)
