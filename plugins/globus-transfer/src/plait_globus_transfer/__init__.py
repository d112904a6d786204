"""plait-globus-transfer: ``globus://COLLECTION_ID/path`` files moved by Globus Transfer
between Globus Connect Server v5 collections and the collection holding an executor's
working directory, with one ``plait globus login`` for the ``data_access`` consents of a
workflow's collections."""

from __future__ import annotations

from plait_globus_transfer.stager import GlobusTransferStager

__all__ = ["GlobusTransferStager"]
