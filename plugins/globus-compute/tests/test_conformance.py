"""plait-globus-compute against the executor conformance kit: the package's kit variant
(:mod:`plait_globus_compute.conformance`), as ``plait maturity check --run-kit`` runs it."""

from __future__ import annotations

from plait_globus_compute.conformance import GlobusComputeConformance


class TestGlobusComputeExecutor(GlobusComputeConformance):
    pass
