"""Fixtures: the stand-in Globus services (:mod:`plait_globus_transfer.testing`) with
three collections, a token file, and stagers on them. Without the ``test`` extra
(``responses``) these tests are not collected."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

if TYPE_CHECKING:
    from plait_globus_transfer import GlobusTransferStager
    from plait_globus_transfer.testing import FakeGlobus

if importlib.util.find_spec("responses") is None:
    collect_ignore_glob = ["test_*.py"]


@attrs.define
class Site:
    """The stand-in's collections and this test's paths."""

    service: FakeGlobus
    tmp: Path
    inputs: str
    """A GCS v5 mapped collection holding inputs (directory ``input_dir``)."""
    input_dir: Path
    outputs: str
    """A guest collection receiving outputs (directory ``output_dir``)."""
    output_dir: Path
    executor: str
    """The mapped collection of the executor's working directory: its path
    ``/scratch/plait/x`` is ``tmp/x``."""
    token_path: Path
    workdir: Path

    def options(self, **overrides: Any) -> dict[str, Any]:
        """Stager options for the site (``overrides`` win)."""
        return {
            "collection": self.executor,
            "collection_root": "/scratch/plait",
            "local_root": str(self.tmp),
            "client_id": self.service.client_id,
            "token_path": str(self.token_path),
            "poll_interval": 0.01,
            "timeout": 20.0,
            **overrides,
        }

    def stager(self, **overrides: Any) -> GlobusTransferStager:
        from plait_globus_transfer import GlobusTransferStager

        return GlobusTransferStager(**self.options(**overrides))

    def input(self, name: str, content: bytes) -> Any:
        """An input on the ``inputs`` collection: its ``File``."""
        from plait.data.files import File

        path = self.input_dir / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return File(f"globus://{self.inputs}/data/{name}")

    def output(self, name: str) -> Any:
        """An output URL on the ``outputs`` collection (``results/<name>``)."""
        from plait.data.files import File

        return File(f"globus://{self.outputs}/results/{name}")

    def login(self, *collections: str, expired: bool = False) -> None:
        """The token file a login consenting to ``collections`` leaves."""
        self.service.issue_tokens(self.token_path, collections=collections, expired=expired)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No client id from the environment, the default token file in the test's
    directory, not a remote session (the browser login refuses those)."""
    for name in ("PLAIT_GLOBUS_CLIENT_ID", "SSH_TTY", "SSH_CONNECTION", "GLOBUS_SDK_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture
def service() -> Iterator[FakeGlobus]:
    from plait_globus_transfer.testing import FakeGlobus

    with FakeGlobus() as stand_in:
        yield stand_in


@pytest.fixture
def site(service: FakeGlobus, tmp_path: Path) -> Site:
    """Three collections and a token path; nobody logged in yet."""
    input_dir = tmp_path / "collections" / "inputs"
    output_dir = tmp_path / "collections" / "outputs"
    workdir = tmp_path / "working-dir" / "task-1"
    return Site(
        service=service,
        tmp=tmp_path,
        inputs=service.add_collection(input_dir, "mapped"),
        input_dir=input_dir,
        outputs=service.add_collection(output_dir, "guest"),
        output_dir=output_dir,
        executor=service.add_collection(tmp_path, "mapped", base="/scratch/plait"),
        token_path=tmp_path / "config" / "plait" / "globus-tokens.json",
        workdir=workdir,
    )


@pytest.fixture
def logged_in(site: Site) -> Site:
    """The site after a login that consented to both mapped collections."""
    site.login(site.inputs, site.executor)
    return site


@pytest.fixture
def plait_cli() -> Callable[..., Any]:
    """``plait_cli(*args, input=None)``: run ``plait ARGS`` (the core's command group,
    whose ``globus`` subcommand the plugin adds) with click's CliRunner."""
    from click.testing import CliRunner

    from plait.cli.main import main

    def run(*args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return run
