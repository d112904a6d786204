"""The stager kit, tested: a compliant dummy stager passes every requirement; for each
requirement a dummy that breaks exactly that requirement fails it and passes the others.

Each case runs the kit in-process with pytester and reads the verdicts from the kit's
JSON report.
"""

from __future__ import annotations

import pytest

from . import kitrun
from .kitrun import Broken

KIT_REQUIREMENTS = (
    "STG-001",
    "STG-002",
    "STG-003",
    "STG-004",
    "STG-005",
    "STG-006",
    "STG-101",
    "STG-102",
    "STG-201",
    "STG-202",
    "STG-203",
    "STG-204",
)

DUMMIES = '''
"""Dummy stagers for the kit's own tests: one compliant, the rest each broken in one way."""

import os
import shutil
import tempfile
import threading
import time

from plait import File
from plait.errors import MissingInputFileError, MissingOutputsError
from plait.interfaces import Stager


class Compliant(Stager):
    """Copies inputs into the task's directory: follows interface-specs/stager.md."""

    schemes = frozenset({"file", "kitfile"})
    modes = frozenset({"task", "separate"})
    capabilities = frozenset({"stage_out"})
    maturity = "beta"

    def __init__(self, cache_dir=None):
        self.cache_dir = cache_dir

    def stage_in(self, file, workdir):
        if not os.path.isfile(file.path):
            raise MissingInputFileError(f"input {file.url} does not exist", path=file.path)
        local = self.local_path(file, workdir)
        os.makedirs(workdir, exist_ok=True)
        shutil.copyfile(file.path, local)
        staged = File(file.url)
        staged.local_path = local
        return staged

    def stage_out(self, file, workdir):
        if not os.path.isfile(file.filepath):
            raise MissingOutputsError(f"output {file.url} was not written", missing=[file.url])
        if file.filepath != file.path:
            shutil.copyfile(file.filepath, file.path)


def in_kernel():
    """True on the threads the kit's kernel tier runs stagers on."""
    return threading.current_thread().name.startswith(("plait-kit-kernel", "plait-staging"))


# --- STG-001 ---------------------------------------------------------------------------


class NoSchemes(Compliant):
    """Declares no scheme, but accepts its files all the same."""

    schemes = frozenset()

    def accepts(self, file):
        return file.scheme in {"file", "kitfile"}


class UppercaseScheme(Compliant):
    schemes = frozenset({"file", "KitFile"})


class UnknownCapability(Compliant):
    capabilities = frozenset({"stage_out", "teleport"})


# --- STG-002 ---------------------------------------------------------------------------


class Unpicklable(Compliant):
    def __init__(self, cache_dir=None):
        super().__init__(cache_dir)
        self.lock = threading.Lock()


class RequiresOptions(Compliant):
    def __init__(self, cache_dir):
        super().__init__(cache_dir)


# --- STG-003 ---------------------------------------------------------------------------


class ConsumesSource(Compliant):
    """Moves the input instead of copying it: a retry finds nothing."""

    def stage_in(self, file, workdir):
        if not os.path.isfile(file.path):
            raise MissingInputFileError(f"input {file.url} does not exist", path=file.path)
        local = self.local_path(file, workdir)
        os.makedirs(workdir, exist_ok=True)
        os.replace(file.path, local)
        staged = File(file.url)
        staged.local_path = local
        return staged


# --- STG-004 ---------------------------------------------------------------------------


class RaisesFileNotFound(Compliant):
    def stage_in(self, file, workdir):
        if not os.path.isfile(file.path) and not in_kernel():
            raise FileNotFoundError(file.path)
        return super().stage_in(file, workdir)


class ErrorWithoutURL(Compliant):
    def stage_in(self, file, workdir):
        if not os.path.isfile(file.path) and not in_kernel():
            raise MissingInputFileError("an input is missing")
        return super().stage_in(file, workdir)


# --- STG-005 ---------------------------------------------------------------------------


class Racy(Compliant):
    def stage_in(self, file, workdir):
        self._current = file
        time.sleep(0.005)
        return super().stage_in(self._current, workdir)


# --- STG-006 ---------------------------------------------------------------------------


class LeavesPartialFile(Compliant):
    def stage_in(self, file, workdir):
        if not os.path.isfile(file.path):
            os.makedirs(workdir, exist_ok=True)
            with open(self.local_path(file, workdir), "wb") as partial:
                partial.write(b"half")
        return super().stage_in(file, workdir)


# --- STG-101 (stage_out) ----------------------------------------------------------------


class DeletesOutputs(Compliant):
    def stage_out(self, file, workdir):
        super().stage_out(file, workdir)
        if not in_kernel():
            os.remove(file.path)


# --- STG-102 (stage_out) ----------------------------------------------------------------


class IgnoresMissingOutputs(Compliant):
    def stage_out(self, file, workdir):
        if os.path.isfile(file.filepath):
            super().stage_out(file, workdir)


# --- STG-201..204: through the kernel ---------------------------------------------------


class FailsInTheKernel(Compliant):
    """Stages in when called directly, not when the kernel calls."""

    def stage_in(self, file, workdir):
        staged = super().stage_in(file, workdir)
        if in_kernel():
            raise RuntimeError(f"cannot stage {file.url} here")
        return staged


class PublishesNothingInTheKernel(Compliant):
    def stage_out(self, file, workdir):
        if not in_kernel():
            super().stage_out(file, workdir)


class NamelessErrorInTheKernel(Compliant):
    def stage_in(self, file, workdir):
        if not os.path.isfile(file.path) and in_kernel():
            raise MissingInputFileError("an input is missing")
        return super().stage_in(file, workdir)


class LeavesFilesInTheWorkingDir(Compliant):
    def stage_in(self, file, workdir):
        if in_kernel():
            os.makedirs(os.path.dirname(workdir), exist_ok=True)
            with open(os.path.join(os.path.dirname(workdir), "left-behind"), "w") as left:
                left.write(file.url)
        return super().stage_in(file, workdir)


# --- no capability -----------------------------------------------------------------------


class StageInOnly(Compliant):
    capabilities = frozenset()

    def stage_out(self, file, workdir):
        raise NotImplementedError("this stager cannot publish files")
'''

KIT_MODULE = """
import pytest

from plait.conformance.stager import StagerConformance
from dummies import {cls}


class TestDummy(StagerConformance):
    component_class = {cls}

    @pytest.fixture
    def component_kwargs(self, tmp_path):
        return {{"cache_dir": str(tmp_path / "cache")}}
"""


BROKEN = [
    Broken("NoSchemes", "STG-001", "test_declares_schemes_capabilities_and_maturity"),
    Broken("UppercaseScheme", "STG-001", "test_declares_schemes_capabilities_and_maturity"),
    Broken("UnknownCapability", "STG-001", "test_declares_schemes_capabilities_and_maturity"),
    Broken("Unpicklable", "STG-002", "test_construction_is_cheap_and_instances_pickle"),
    Broken("RequiresOptions", "STG-002", "test_construction_is_cheap_and_instances_pickle"),
    Broken("ConsumesSource", "STG-003", "test_stage_in_returns_a_readable_local_file"),
    Broken("RaisesFileNotFound", "STG-004", "test_missing_input_raises_missing_input_file_error"),
    Broken("ErrorWithoutURL", "STG-004", "test_missing_input_raises_missing_input_file_error"),
    Broken("Racy", "STG-005", "test_one_instance_is_safe_from_many_threads"),
    Broken("DeletesOutputs", "STG-101", "test_stage_out_publishes_written_outputs"),
    Broken("IgnoresMissingOutputs", "STG-102", "test_stage_out_of_an_unwritten_output_raises"),
    Broken("LeavesPartialFile", "STG-006", "test_a_failed_stage_in_leaves_no_partial_file"),
    Broken("FailsInTheKernel", "STG-201", "test_an_app_reads_its_staged_input"),
    Broken("PublishesNothingInTheKernel", "STG-202", "test_an_apps_output_is_published"),
    Broken("NamelessErrorInTheKernel", "STG-203", "test_a_failed_stage_in_fails_only_its_task"),
    Broken(
        "LeavesFilesInTheWorkingDir", "STG-204", "test_task_mode_leaves_nothing_in_the_working_dir"
    ),
]


def run_dummy(pytester: pytest.Pytester, cls: str) -> kitrun.KitRun:
    """Run the stager kit on dummy ``cls``."""
    module = KIT_MODULE.format(cls=cls)
    return kitrun.run_kit(
        pytester, dummies=DUMMIES, module=module, component=cls, kind="stager", spec_version="0.2"
    )


def test_the_cases_cover_every_requirement_of_the_kit() -> None:
    from plait.conformance.stager import StagerConformance

    kitrun.assert_cases_cover(StagerConformance, BROKEN, KIT_REQUIREMENTS)


def test_compliant_dummy_passes_every_requirement(pytester: pytest.Pytester) -> None:
    run = run_dummy(pytester, "Compliant")
    extended = ("STG-101", "STG-102", "STG-202")
    kitrun.assert_compliant(run, KIT_REQUIREMENTS, passed=15, extended=extended)


def test_stage_in_only_stagers_skip_the_stage_out_tests(pytester: pytest.Pytester) -> None:
    run = run_dummy(pytester, "StageInOnly")
    skipped = {"STG-101": "stage_out", "STG-102": "stage_out", "STG-202": "stage_out"}
    kitrun.assert_capability_skips(run, KIT_REQUIREMENTS, skipped)


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: f"{c.requirement}-{c.dummy}")
def test_broken_dummy_fails_exactly_its_requirement(
    pytester: pytest.Pytester, case: Broken
) -> None:
    kitrun.assert_only_broken(run_dummy(pytester, case.dummy), case, KIT_REQUIREMENTS)
