"""Each failure a user meets, as the error plait raises: its code, the URL it names, and
what it leaves behind (no partial file, no task left running)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plait.data.files import File
from plait.errors import (
    MissingInputFileError,
    MissingOutputsError,
    StagingError,
    TransferPermissionError,
)


def test_missing_input_fails_before_any_transfer(logged_in) -> None:
    site = logged_in
    file = File(f"globus://{site.inputs}/data/nothing-here.h5")
    with pytest.raises(MissingInputFileError) as info:
        site.stager().stage_in(file, str(site.workdir))
    assert info.value.code == "PLT-204"
    assert file.url in str(info.value) and site.inputs in str(info.value)
    assert site.service.submissions == []


def test_input_that_is_a_directory(logged_in) -> None:
    site = logged_in
    (site.input_dir / "data" / "run1").mkdir(parents=True)
    file = File(f"globus://{site.inputs}/data/run1")
    with pytest.raises(StagingError, match="is a directory") as info:
        site.stager().stage_in(file, str(site.workdir))
    assert file.url in str(info.value)


def test_unwritten_output(logged_in) -> None:
    site = logged_in
    file = site.output("never.csv")
    file.local_path = str(site.workdir / "never.csv")
    with pytest.raises(MissingOutputsError) as info:
        site.stager().stage_out(file, str(site.workdir))
    assert info.value.code == "PLT-205"
    assert file.url in str(info.value) and file.local_path in str(info.value)
    assert info.value.details["missing"] == [file.local_path]
    assert site.service.submissions == []


def test_permission_denied_reading_the_source(logged_in) -> None:
    site = logged_in
    file = site.input("private.dat", b"x")
    site.service.deny(site.inputs, "/data")
    with pytest.raises(TransferPermissionError) as info:
        site.stager().stage_in(file, str(site.workdir))
    assert info.value.code == "PLT-412"
    assert file.url in str(info.value)
    assert "EndpointPermissionDenied" in str(info.value)
    assert "administrator" in info.value.hint
    assert site.service.submissions == []


def test_permission_denied_writing_the_destination(logged_in) -> None:
    """Transfer retries a task whose destination refuses it until its deadline; the
    stager cancels it at the first fault and says why."""
    site = logged_in
    site.service.deny(site.outputs, "/results")
    file = site.output("out.dat")
    file.local_path = str(site.workdir / "out.dat")
    site.workdir.mkdir(parents=True)
    Path(file.local_path).write_bytes(b"result")
    with pytest.raises(TransferPermissionError, match="PERMISSION_DENIED") as info:
        site.stager().stage_out(file, str(site.workdir))
    assert file.url in str(info.value)
    (task_id,) = site.service.cancelled
    assert task_id in str(info.value)


def test_source_gone_during_the_transfer(logged_in) -> None:
    site = logged_in
    site.service.task_fault = "FILE_NOT_FOUND"
    file = site.input("moved.dat", b"x")
    with pytest.raises(MissingInputFileError, match="FILE_NOT_FOUND") as info:
        site.stager().stage_in(file, str(site.workdir))
    assert file.url in str(info.value)
    assert len(site.service.cancelled) == 1


def test_failed_task_names_task_and_reason_and_leaves_no_partial_file(logged_in) -> None:
    site = logged_in
    site.service.task_failure = ("ENDPOINT_ERROR", "Error on the destination: disk I/O error")
    file = site.input("big.dat", b"0123456789" * 1000)
    with pytest.raises(StagingError) as info:
        site.stager().stage_in(file, str(site.workdir))
    message = str(info.value)
    (task_id,) = site.service.tasks
    assert file.url in message and task_id in message
    assert "ENDPOINT_ERROR: Error on the destination: disk I/O error" in message
    assert info.value.details["task_id"] == task_id
    assert not (site.workdir / "big.dat").exists()  # the half-written file was removed


def test_a_transfer_over_its_timeout_is_cancelled(logged_in) -> None:
    site = logged_in
    site.service.hang = True
    file = site.input("stuck.dat", b"x")
    with pytest.raises(StagingError, match=r"did not finish in 0\.05 s") as info:
        site.stager(timeout=0.05).stage_in(file, str(site.workdir))
    (task_id,) = site.service.tasks
    assert task_id in str(info.value) and file.url in str(info.value)
    assert site.service.cancelled == [task_id]
    assert site.service.tasks[task_id]["status"] == "FAILED"


def test_unknown_collection(logged_in) -> None:
    site = logged_in
    file = File("globus://6c54cade-bde5-45c1-bdea-f4bd71dba2cc/data/x.dat")
    with pytest.raises(StagingError, match="knows no collection") as info:
        site.stager().stage_in(file, str(site.workdir))
    assert file.url in str(info.value)


def test_errors_survive_pickling(logged_in) -> None:
    """Staging errors travel to the task's future like any plait error."""
    import pickle

    site = logged_in
    file = File(f"globus://{site.inputs}/data/none.dat")
    with pytest.raises(MissingInputFileError) as info:
        site.stager().stage_in(file, str(site.workdir))
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value)
