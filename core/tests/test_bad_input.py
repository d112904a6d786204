"""Bad input gives a clear PlaitError with a stable code and a hint, and never hangs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import plait
from plait import File, python_app
from plait.builtins import LocalFileStager
from plait.data.staging import unknown_scheme
from plait.errors import (
    ComponentNotFoundError,
    ConfigError,
    DuplicateLabelError,
    KernelAlreadyLoadedError,
    MissingInputFileError,
    NoDataFlowKernelError,
    PlaitError,
    UnknownExecutorError,
    UnknownSchemeError,
    all_error_classes,
)
from plait_threads import ThreadPoolExecutor


@python_app
def inc(x: int) -> int:
    return x + 1


def assert_plait_error(exc: BaseException, code: str) -> None:
    assert isinstance(exc, PlaitError)
    assert exc.code == code
    assert exc.hint, "every error carries a hint"
    text = str(exc)
    assert f"[{code}]" in text and exc.title in text and exc.message in text
    assert "hint: " + exc.hint in text
    assert exc.docs_url.endswith("#" + code.lower())


def test_app_called_before_load() -> None:
    with pytest.raises(NoDataFlowKernelError) as info:
        inc(1)
    assert_plait_error(info.value, "PLT-100")
    assert "plait.load" in info.value.hint
    with pytest.raises(NoDataFlowKernelError):
        plait.dfk()
    with pytest.raises(NoDataFlowKernelError):
        plait.wait_for_current_tasks()


def test_unknown_executor_label(load: Any) -> None:
    load(executors=[ThreadPoolExecutor(label="local")])

    @python_app(executors=["gpu"])
    def on_gpu() -> None:
        pass

    with pytest.raises(UnknownExecutorError) as info:
        on_gpu()
    assert_plait_error(info.value, "PLT-111")
    assert "'gpu'" in str(info.value) and "local" in str(info.value)
    assert inc(1).result(timeout=30) == 2, "the kernel is unaffected"


def test_unknown_executor_label_among_several(load: Any) -> None:
    load(executors=[ThreadPoolExecutor(label="a"), ThreadPoolExecutor(label="b")])

    @python_app(executors=["a", "c"])
    def partly() -> None:
        pass

    with pytest.raises(UnknownExecutorError, match="'c'"):
        partly()


def test_component_not_installed() -> None:
    with pytest.raises(ComponentNotFoundError) as info:
        plait.Config(executors=[{"kind": "nosuch"}])
    assert_plait_error(info.value, "PLT-112")
    assert "pip install the plugin that provides the executor 'nosuch'" in info.value.hint
    assert "nosuch" in str(info.value) and "threads" in str(info.value)


def test_component_misspelt_suggests_installed_one() -> None:
    with pytest.raises(ComponentNotFoundError) as info:
        plait.Config(executors=[{"kind": "thread"}])
    assert "threads" in info.value.hint


def test_unknown_component_option_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as info:
        plait.Config(executors=[{"kind": "threads", "max_thread": 4}])
    assert_plait_error(info.value, "PLT-115")
    assert "max_thread" in str(info.value)
    assert "did you mean 'max_threads'" in str(info.value)
    assert "max_threads" in info.value.hint


def test_component_option_of_wrong_value() -> None:
    with pytest.raises(ConfigError) as info:
        plait.Config(executors=[{"kind": "threads", "max_threads": 0}])
    assert "max_threads" in str(info.value)


def test_component_table_without_kind() -> None:
    with pytest.raises(ConfigError, match="kind"):
        plait.Config(executors=[{"max_threads": 2}])


def test_executors_of_wrong_type() -> None:
    with pytest.raises(ConfigError):
        plait.Config(executors="threads")
    with pytest.raises(ConfigError, match="not an executor"):
        plait.Config(executors=[42])


def test_error_reporters_of_wrong_type() -> None:
    with pytest.raises(ConfigError, match=r"error_reporters\[1\] is a int"):
        plait.Config(error_reporters=["console", 3])


def test_unknown_config_key_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as info:
        plait.Config.from_dict({"retires": 2})
    assert "did you mean 'retries'" in str(info.value)


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        plait.Config.from_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("retries = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        plait.Config.from_file(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[[executors]]\nkind = "nosuch"\n')
    with pytest.raises(ComponentNotFoundError, match="nosuch"):
        plait.load(unknown)


def test_missing_input_file(dfk: plait.DataFlowKernel, tmp_path: Path) -> None:
    @python_app
    def read(inputs: Sequence[File] = ()) -> str:
        return Path(inputs[0].filepath).read_text()

    missing = tmp_path / "absent.txt"
    future = read(inputs=[File(str(missing))])
    exc = future.exception(timeout=30)
    assert isinstance(exc, MissingInputFileError)
    assert_plait_error(exc, "PLT-204")
    assert str(missing) in str(exc)
    present = tmp_path / "present.txt"
    present.write_text("here")
    assert read(inputs=[File(str(present))]).result(timeout=30) == "here"


def test_input_with_unknown_scheme(dfk: plait.DataFlowKernel) -> None:
    @python_app
    def read(inputs: Sequence[File] = ()) -> str:
        return "never"

    exc = read(inputs=[File("nosuchscheme://host/data")]).exception(timeout=30)
    assert isinstance(exc, UnknownSchemeError)
    assert_plait_error(exc, "PLT-401")
    assert "nosuchscheme://host/data" in exc.message
    assert re.search(r"its stagers: .*local-file", exc.message)  # what the executor has
    assert "install a stager plugin for 'nosuchscheme'" in exc.hint
    # a scheme a first-party plugin handles names its distribution
    missing = unknown_scheme(File("rsync://host/data"), "cluster", [LocalFileStager()])
    assert "pip install plait-rsync" in missing.hint


def test_duplicate_labels() -> None:
    with pytest.raises(DuplicateLabelError) as info:
        plait.Config(executors=[ThreadPoolExecutor(label="x"), ThreadPoolExecutor(label="x")])
    assert_plait_error(info.value, "PLT-113")
    assert "'x'" in str(info.value)


def test_loading_twice(load: Any) -> None:
    first = load()
    with pytest.raises(KernelAlreadyLoadedError) as info:
        load()
    assert_plait_error(info.value, "PLT-102")
    assert plait.dfk() is first
    assert inc(1).result(timeout=30) == 2


def test_resource_specification_without_capability(dfk: plait.DataFlowKernel) -> None:
    with pytest.raises(plait.errors.CapabilityError) as info:
        inc(1, parsl_resource_specification={"cores": 2})
    assert_plait_error(info.value, "PLT-207")
    with pytest.raises(plait.errors.ResourceSpecificationError):
        inc(1, resource_specification={"no_such_key": 1})
    with pytest.raises(plait.errors.ResourceSpecificationError):
        inc(1, resource_specification="lots")


def test_bad_config_values() -> None:
    with pytest.raises(ConfigError):
        plait.Config(retries="3")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        plait.Config(checkpoint_mode="always")
    with pytest.raises((ConfigError, ValueError)):
        plait.Config(exit_mode="later")
    with pytest.raises(ConfigError, match="walltime 'soon' is not a number"):
        plait.Config(checkpoint_period="soon")


def test_every_error_class_has_code_title_hint() -> None:
    classes = all_error_classes()
    codes = [cls.code for cls in classes]
    named = {"PLT-100", "PLT-101", "PLT-102", "PLT-110", "PLT-111", "PLT-112", "PLT-113"}
    named |= {"PLT-200", "PLT-201", "PLT-202", "PLT-203", "PLT-204", "PLT-205", "PLT-206"}
    named |= {"PLT-300", "PLT-301"}
    assert named <= set(codes)
    assert len(set(codes)) == len(codes), "codes are unique"
    for cls in classes:
        assert re.fullmatch(r"PLT-\d{3}", cls.code), cls
        assert cls.title and cls.default_hint and cls.__doc__, cls
        exc = cls("something concrete happened")
        assert_plait_error(exc, cls.code)
        assert "something concrete happened" in str(exc)


def test_errors_survive_pickling() -> None:
    import pickle

    exc = plait.errors.BashExitFailure("it failed", exitcode=3, stdout="/x")
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert copy.exitcode == 3 and copy.details["stdout"] == "/x"
    assert str(copy) == str(exc)
    exc.extra_note = ["kept"]  # attributes set later, e.g. a task's app log records
    assert pickle.loads(pickle.dumps(exc)).extra_note == ["kept"]
