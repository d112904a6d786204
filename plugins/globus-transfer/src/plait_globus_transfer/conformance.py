"""The stager kit on the offline stand-in for Globus Auth and Transfer
(:mod:`plait_globus_transfer.testing`): what ``plait conformance globus-transfer`` and
``plait maturity check --run-kit`` run (``GlobusTransferStager.conformance_kit``). Needs
the ``test`` extra (``responses``) and pytest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plait.conformance.stager import MakeInput, MakeOutput, ReadOutput, StagerConformance
from plait.data.files import File
from plait_globus_transfer.stager import GlobusTransferStager


class GlobusTransferConformance(StagerConformance):
    """The kit with three stand-in collections: the inputs' (a GCS v5 mapped collection,
    whose ``data_access`` consent the login covered), the outputs' (a guest collection)
    and the executor's (mapped, its path ``/scratch/plait/x`` being ``tmp_path/x``, the
    kit's workdirs), and a token file as ``plait globus login`` leaves it. The stager
    finds which collections are mapped through Transfer (``get_endpoint``), as it does
    without ``mapped_collections``; polling waits at most 10 ms."""

    component_class = GlobusTransferStager

    @pytest.fixture
    def globus_service(self) -> Iterator[Any]:
        """The stand-in services, active during the test."""
        from plait_globus_transfer.testing import FakeGlobus

        with FakeGlobus() as service:
            yield service

    @pytest.fixture(autouse=True)
    def _stand_in(self, globus_service: Any, tmp_path: Path) -> None:
        service = globus_service
        self.sources = tmp_path / "collections" / "inputs"
        self.targets = tmp_path / "collections" / "outputs"
        self.source_id = service.add_collection(self.sources, "mapped")
        self.target_id = service.add_collection(self.targets, "guest")
        executor_id = service.add_collection(tmp_path, "mapped", base="/scratch/plait")
        token_path = tmp_path / "config" / "plait" / "globus-tokens.json"
        service.issue_tokens(token_path, collections=[self.source_id, executor_id])
        self.stand_in = {
            "collection": executor_id,
            "collection_root": "/scratch/plait",
            "local_root": str(tmp_path),
            "client_id": service.client_id,
            "token_path": str(token_path),
            "poll_interval": 0.01,
            "timeout": 20.0,
        }

    def make(self, component_kwargs: dict[str, Any]) -> Any:
        """The stager on the stand-in collections (``component_kwargs``, e.g. from
        ``plait conformance --option``, override its options)."""
        return self.component_class(**{**self.stand_in, **component_kwargs})

    @pytest.fixture
    def make_input(self) -> MakeInput:
        def make(name: str, content: bytes) -> File:
            path = self.sources / "data" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            return File(f"globus://{self.source_id}/data/{name}")

        return make

    @pytest.fixture
    def missing_input(self) -> File:
        return File(f"globus://{self.source_id}/data/does-not-exist.dat")

    @pytest.fixture
    def make_output(self) -> MakeOutput:
        def make(name: str) -> File:
            return File(f"globus://{self.target_id}/results/{name}")

        return make

    @pytest.fixture
    def read_output(self) -> ReadOutput:
        def read(file: File) -> bytes:
            return (self.targets / file.path.lstrip("/")).read_bytes()

        return read
