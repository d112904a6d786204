"""Conformance tests for data stagers (``interface-specs/stager.md``)."""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import pytest

from plait.conformance.base import (
    ConformanceBase,
    assert_declarations,
    call_with_timeout,
    child_pids,
    requirement,
)
from plait.data.files import File
from plait.errors import MissingInputFileError, MissingOutputsError
from plait.interfaces import Executor, Stager, TaskDescription
from plait.interfaces.stager import STAGING_MODES

STAGER_CAPABILITIES = frozenset({"stage_out"})
"""Capabilities ``interface-specs/stager.md`` defines."""

SCHEME_RE = re.compile(r"[a-z][a-z0-9+.-]+")
TIMEOUT = 30.0
THREADS = 8
FILES_PER_THREAD = 5

MakeInput = Callable[[str, bytes], File]
MakeOutput = Callable[[str], File]
ReadOutput = Callable[[File], bytes]


def content_for(name: str) -> bytes:
    """Distinct content for the kit file ``name`` (binary, not only text)."""
    return f"plait conformance kit: {name}\n".encode() + bytes(range(256)) + name.encode() * 64


class StagerConformance(ConformanceBase):
    """The stager kit. Set ``component_class``; a stager for remote URLs overrides the
    file fixtures (``make_input``, ``missing_input``, ``make_output``, ``read_output``),
    whose defaults make plain local paths under ``tmp_path``."""

    kind: ClassVar[str] = "stager"
    spec_version: ClassVar[str] = "0.2"
    timeout: ClassVar[float] = TIMEOUT

    @pytest.fixture
    def stager(self, component_kwargs: dict[str, Any]) -> Stager:
        """An instance of the stager under test."""
        instance = self.make(component_kwargs)
        assert isinstance(instance, Stager)
        return instance

    @pytest.fixture
    def workdir(self, tmp_path: Path) -> str:
        """The task's staging directory the kit passes to ``stage_in``/``stage_out``."""
        path = tmp_path / "kit-workdir"
        path.mkdir()
        return str(path)

    @pytest.fixture
    def make_input(self, tmp_path: Path) -> MakeInput:
        """``make_input(name, content)``: an existing input file holding ``content``."""
        root = tmp_path / "kit-inputs"

        def make(name: str, content: bytes) -> File:
            root.mkdir(exist_ok=True)
            path = root / name
            path.write_bytes(content)
            return File(str(path))

        return make

    @pytest.fixture
    def missing_input(self, tmp_path: Path) -> File:
        """An input that does not exist (default: a ``file://`` URL)."""
        return File((tmp_path / "kit-inputs" / "does-not-exist.dat").as_uri())

    @pytest.fixture
    def make_output(self, tmp_path: Path) -> MakeOutput:
        """``make_output(name)``: a File for an output location (its URL); the kit writes
        the content at the stager's ``local_path`` for it, as a task would."""
        root = tmp_path / "kit-outputs"

        def make(name: str) -> File:
            root.mkdir(exist_ok=True)
            return File(str(root / name))

        return make

    @pytest.fixture
    def read_output(self) -> ReadOutput:
        """``read_output(file)``: the content published at ``file.url``."""

        def read(file: File) -> bytes:
            return Path(file.path).read_bytes()

        return read

    def check_staged(self, original: File, staged: Any, content: bytes) -> None:
        """Assert ``staged`` (what stage_in returned) is a usable copy of ``original``."""
        assert isinstance(staged, File), f"stage_in returned {type(staged).__name__}, not File"
        assert staged.url == original.url, f"stage_in of {original.url} returned {staged.url}"
        assert isinstance(staged.filepath, str), "the staged File's filepath is not a str"
        local = Path(staged.filepath)
        assert local.is_file(), f"stage_in of {original.url}: {staged.filepath} is not a file"
        assert local.read_bytes() == content, f"{staged.filepath} has other content"

    # --- core tier ---------------------------------------------------------------

    @requirement("STG-001")
    def test_declares_schemes_capabilities_and_maturity(self) -> None:
        cls = self.component_class
        assert_declarations(cls, Stager, STAGER_CAPABILITIES, "stager")
        assert isinstance(cls.schemes, frozenset), "schemes must be a frozenset"
        assert cls.schemes, "schemes must not be empty"
        bad = sorted(s for s in cls.schemes if not (isinstance(s, str) and SCHEME_RE.fullmatch(s)))
        assert not bad, f"schemes must be lowercase URL schemes of 2+ characters: {bad}"
        modes = cls.modes
        assert isinstance(modes, frozenset) and modes, "modes must be a non-empty frozenset"
        assert modes <= STAGING_MODES, f"unknown modes {sorted(modes - STAGING_MODES)}"

    @requirement("STG-002")
    def test_construction_is_cheap_and_instances_pickle(
        self, component_kwargs: dict[str, Any], make_input: MakeInput, workdir: str
    ) -> None:
        threads, pids = set(threading.enumerate()), child_pids()
        stager = self.make(component_kwargs)
        assert set(threading.enumerate()) == threads, "construction started threads"
        assert child_pids() == pids, "construction started processes"
        try:
            self.component_class()
        except TypeError as exc:
            pytest.fail(f"{self.component_class.__qualname__}() without arguments: {exc}")
        try:
            copy = pickle.loads(pickle.dumps(stager))
        except Exception as exc:
            pytest.fail(f"the stager does not survive pickle: {type(exc).__name__}: {exc}")
        assert type(copy) is type(stager)
        content = content_for("pickled")
        file = make_input("pickled.dat", content)
        self.check_staged(file, copy.stage_in(file, workdir), content)

    @requirement("STG-003")
    def test_stage_in_returns_a_readable_local_file(
        self, stager: Stager, make_input: MakeInput, workdir: str
    ) -> None:
        content = content_for("input")
        file = make_input("input.dat", content)
        assert stager.accepts(file), f"the stager does not accept its own input {file.url}"
        other = File("plait-kit-elsewhere://host/input.dat")
        assert not stager.accepts(other), f"the stager accepts {other.url}, not its scheme"
        staged = stager.stage_in(file, workdir)
        self.check_staged(file, staged, content)
        assert staged.filepath == stager.local_path(file, workdir), (
            f"stage_in put {file.url} at {staged.filepath}, not at local_path() "
            f"{stager.local_path(file, workdir)}"
        )
        again = File(file.url)
        self.check_staged(again, stager.stage_in(again, workdir), content)  # a retry
        self.check_staged(file, stager.stage_in(File(file.url), workdir), content)  # source kept

    @requirement("STG-004")
    def test_missing_input_raises_missing_input_file_error(
        self, stager: Stager, missing_input: File, workdir: str
    ) -> None:
        finished, outcome = call_with_timeout(
            lambda: stager.stage_in(missing_input, workdir), self.timeout
        )
        assert finished, f"stage_in of a missing input hung for {self.timeout} s"
        assert isinstance(outcome, MissingInputFileError), (
            f"stage_in of a missing input gave {type(outcome).__name__}: {outcome}, "
            "not MissingInputFileError"
        )
        assert missing_input.url in str(outcome), (
            f"the error does not name the URL {missing_input.url}: {outcome}"
        )

    @requirement("STG-005")
    def test_one_instance_is_safe_from_many_threads(
        self, stager: Stager, make_input: MakeInput, tmp_path: Path
    ) -> None:
        names = [f"t{t}-f{i}.dat" for t in range(THREADS) for i in range(FILES_PER_THREAD)]
        files = {name: make_input(name, content_for(name)) for name in names}
        barrier = threading.Barrier(THREADS)

        def work(thread: int) -> list[str]:
            barrier.wait(timeout=self.timeout)
            problems = []
            for i in range(FILES_PER_THREAD):
                name = f"t{thread}-f{i}.dat"
                workdir = tmp_path / "kit-workdirs" / name  # one task's directory each
                workdir.mkdir(parents=True)
                try:
                    staged = stager.stage_in(files[name], str(workdir))
                    self.check_staged(files[name], staged, content_for(name))
                except Exception as exc:  # AssertionError included
                    problems.append(f"{name}: {type(exc).__name__}: {exc}")
            return problems

        with ThreadPoolExecutor(THREADS, thread_name_prefix="plait-kit-stg") as pool:
            problems = [p for result in pool.map(work, range(THREADS)) for p in result]
        assert not problems, (
            f"{len(problems)} of {len(names)} concurrent stage-ins failed, first: "
            + "; ".join(problems[:3])
        )

    @requirement("STG-006")
    def test_a_failed_stage_in_leaves_no_partial_file(
        self, stager: Stager, missing_input: File, workdir: str
    ) -> None:
        with pytest.raises(Exception):  # noqa: B017 - STG-004 checks which
            stager.stage_in(missing_input, workdir)
        assert not os.path.exists(stager.local_path(missing_input, workdir)) or (
            stager.local_path(missing_input, workdir) == missing_input.path
        ), f"a failed stage_in of {missing_input.url} left a file behind"
        left = sorted(p.name for p in Path(workdir).iterdir())
        assert not left, f"a failed stage_in of {missing_input.url} left {left} in the workdir"

    # --- extended tier -------------------------------------------------------------

    @requirement("STG-101", capability="stage_out")
    def test_stage_out_publishes_written_outputs(
        self, stager: Stager, make_output: MakeOutput, read_output: ReadOutput, workdir: str
    ) -> None:
        names = [f"out-{i}.dat" for i in range(THREADS)]
        outputs = {name: make_output(name) for name in names}
        for name, file in outputs.items():
            file.local_path = stager.local_path(file, workdir)
            Path(file.filepath).parent.mkdir(parents=True, exist_ok=True)
            Path(file.filepath).write_bytes(content_for(name))
        first = names[0]
        stage_out: Callable[[File, str], object] = stager.stage_out
        assert stage_out(outputs[first], workdir) is None, "stage_out must return None"
        barrier = threading.Barrier(len(names) - 1)

        def publish(name: str) -> None:
            barrier.wait(timeout=self.timeout)
            stager.stage_out(outputs[name], workdir)

        with ThreadPoolExecutor(THREADS, thread_name_prefix="plait-kit-stg") as pool:
            list(pool.map(publish, names[1:]))
        for name, file in outputs.items():
            try:
                published = read_output(file)
            except Exception as exc:
                pytest.fail(f"{file.url} cannot be read after stage_out: {exc!r}")
            assert published == content_for(name), f"{file.url} has other content"

    @requirement("STG-102", capability="stage_out")
    def test_stage_out_of_an_unwritten_output_raises(
        self, stager: Stager, make_output: MakeOutput, workdir: str
    ) -> None:
        file = make_output("never-written.dat")
        file.local_path = stager.local_path(file, workdir)
        finished, outcome = call_with_timeout(lambda: stager.stage_out(file, workdir), self.timeout)
        assert finished, f"stage_out of an unwritten output hung for {self.timeout} s"
        assert isinstance(outcome, MissingOutputsError), (
            f"stage_out of an unwritten output gave {type(outcome).__name__}: {outcome!r}, "
            "not MissingOutputsError"
        )
        assert file.url in str(outcome), f"the error does not name the URL {file.url}: {outcome}"

    # --- kernel tier: the stager inside a real kernel -----------------------------------

    @pytest.fixture(params=["task", "separate"])
    def mode(self, request: pytest.FixtureRequest) -> str:
        """Each mode the stager declares (the kernel tier runs once per mode)."""
        mode = str(request.param)
        if mode not in self.component_class.modes:
            pytest.skip(f"mode {mode!r} not declared by {self.component_class.__qualname__}")
        return mode

    @pytest.fixture
    def kernel(self, component_kwargs: dict[str, Any], mode: str, tmp_path: Path) -> Iterator[Any]:
        """A kernel whose one executor runs tasks on threads of this process and stages
        their files with the stager under test, in ``mode``."""
        with self.kit_kernel(component_kwargs, mode, tmp_path) as dfk:
            yield dfk

    @pytest.fixture
    def task_kernel(self, component_kwargs: dict[str, Any], tmp_path: Path) -> Iterator[Any]:
        """The kernel of :meth:`kernel` in ``task`` mode."""
        if "task" not in self.component_class.modes:
            pytest.skip(f"mode 'task' not declared by {self.component_class.__qualname__}")
        with self.kit_kernel(component_kwargs, "task", tmp_path) as dfk:
            yield dfk

    @contextlib.contextmanager
    def kit_kernel(
        self, component_kwargs: dict[str, Any], mode: str, tmp_path: Path
    ) -> Iterator[Any]:
        import plait

        stager = self.make(component_kwargs)
        object.__setattr__(stager, "modes", frozenset({mode}))  # the instance's mode only
        executor = KitThreadExecutor(label="kit")
        executor.staging = [stager]
        executor.working_dir = str(tmp_path / "kit-working-dir")
        config = plait.Config(
            executors=[executor], run_dir=str(tmp_path / "kit-run"), error_reporters=[]
        )
        with plait.load(config) as dfk:
            yield dfk

    @requirement("STG-201")
    def test_an_app_reads_its_staged_input(self, kernel: Any, make_input: MakeInput) -> None:
        import plait

        content = content_for("app-input")
        file = make_input("app-input.dat", content)
        read = plait.python_app(kit_read_input)
        assert read(inputs=[file]).result(self.timeout) == content
        assert file.local_path is None, "staging changed the caller's File"

    @requirement("STG-202", capability="stage_out")
    def test_an_apps_output_is_published(
        self, kernel: Any, make_output: MakeOutput, read_output: ReadOutput
    ) -> None:
        import plait

        file = make_output("app-output.dat")
        content = content_for("app-output")
        write = plait.python_app(kit_write_output)(content, outputs=[file])
        assert write.outputs[0].result(self.timeout).url == file.url
        assert write.done() and write.exception() is None
        assert read_output(file) == content, f"{file.url} has other content after the task"

    @requirement("STG-203")
    def test_a_failed_stage_in_fails_only_its_task(self, kernel: Any, missing_input: File) -> None:
        import plait
        from plait.errors import DependencyError

        bad = plait.python_app(kit_read_input)(inputs=[missing_input])
        other = plait.python_app(kit_fail)(fail=False)
        after = plait.python_app(kit_read_input)(inputs=[bad])
        error = bad.exception(self.timeout)
        assert error is not None, f"a task with the missing input {missing_input.url} succeeded"
        assert missing_input.url in str(error), f"the error does not name the URL: {error}"
        assert other.result(self.timeout) == 0, "a task without the file failed"
        assert isinstance(after.exception(self.timeout), DependencyError)

    @requirement("STG-204")
    def test_task_mode_leaves_nothing_in_the_working_dir(
        self, task_kernel: Any, make_input: MakeInput, missing_input: File, tmp_path: Path
    ) -> None:
        import plait

        read = plait.python_app(kit_read_input)
        fine = read(inputs=[make_input("kept.dat", content_for("kept"))])
        fails = plait.python_app(kit_fail)(inputs=[make_input("failed.dat", b"x")])
        missing = read(inputs=[missing_input])
        for future in (fine, fails, missing):
            future.exception(self.timeout)  # done, whichever way
        root = tmp_path / "kit-working-dir"
        left = sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
        assert not left, f"staging left {left} in the executor's working_dir"


def kit_read_input(inputs: Sequence[File] = ()) -> bytes:
    """An app: the content of its first input, read at its ``filepath``."""
    return Path(inputs[0].filepath).read_bytes()


def kit_write_output(content: bytes, outputs: Sequence[File] = ()) -> str:
    """An app: write ``content`` at its first output's ``filepath``."""
    Path(outputs[0].filepath).write_bytes(content)
    return outputs[0].filepath


def kit_fail(inputs: Sequence[File] = (), fail: bool = True) -> int:
    """An app that fails (after its inputs were staged), or returns 0."""
    if fail:
        raise RuntimeError(f"kit app failing on purpose with {len(inputs)} input(s)")
    return 0


KERNEL_THREADS = "plait-kit-kernel"
"""The name prefix of the kernel tier's task threads."""


class KitThreadExecutor(Executor):
    """The kernel tier's executor: tasks run on threads of the test's process."""

    capabilities = frozenset()
    maturity = "beta"

    def __init__(self, label: str = "kit") -> None:
        self.label = label
        self._pool: ThreadPoolExecutor | None = None

    def start(self, run_dir: Path) -> None:
        self._pool = ThreadPoolExecutor(4, thread_name_prefix=KERNEL_THREADS)

    def submit(
        self,
        task: TaskDescription,
        func: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> Future[Any]:
        assert self._pool is not None, "not started"
        return self._pool.submit(func, *args, **kwargs)

    def shutdown(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None
