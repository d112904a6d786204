"""plait-globus-transfer against the stager conformance kit: the package's kit variant
(:mod:`plait_globus_transfer.conformance`), as ``plait conformance globus-transfer`` runs
it."""

from __future__ import annotations

from plait_globus_transfer.conformance import GlobusTransferConformance


class TestGlobusTransferStager(GlobusTransferConformance):
    pass
