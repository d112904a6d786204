"""Conformance tests for execution providers (``interface-specs/provider.md``).

The tests submit real blocks running small bash commands. A command reports through
marker files under the ``shared_dir`` fixture and waits for *gate* files the test creates
(bounded in the command itself, so nothing waits forever); the test polls ``status``
with bounded waits. Process checks read ``/proc`` for the processes a block records as
running on this host.
"""

from __future__ import annotations

import contextlib
import shlex
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from plait.conformance._support import (
    gate_loop,
    host_pids,
    needs_backend,
)
from plait.conformance.base import (
    ConformanceBase,
    assert_declarations,
    call_with_timeout,
    child_pids,
    leftovers,
    requirement,
    wait_until,
)
from plait.errors import ConfigError, ResourceSpecificationError
from plait.interfaces import ExecutionProvider, JobState, JobStatus
from plait.procfs import pid_alive

PROVIDER_CAPABILITIES = frozenset({"walltime", "std_streams"})
"""Capabilities ``interface-specs/provider.md`` defines."""

UNKNOWN_JOB_ID = "4294967295"
"""A job id no provider has issued in a kit test (numeric, as scheduler ids are)."""

INVALID_OPTIONS: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"init_blocks": -1}, ("init_blocks",)),
    ({"min_blocks": -1}, ("min_blocks",)),
    ({"min_blocks": 0, "max_blocks": -1}, ("max_blocks",)),
    ({"min_blocks": 3, "max_blocks": 2}, ("min_blocks", "max_blocks")),
    ({"nodes_per_block": 0}, ("nodes_per_block",)),
    ({"status_polling_interval": 0}, ("status_polling_interval",)),
]
"""Option values PRV-001 requires to be refused, and the names the error may give."""

_KIT_JOB_NAME = "plait-kit"


def _q(path: Path) -> str:
    return shlex.quote(str(path))


class Blocks:
    """The blocks one kit test submits to one provider; :meth:`cleanup` opens every gate
    and cancels whatever still runs."""

    def __init__(
        self,
        provider: ExecutionProvider,
        directory: Path,
        *,
        timeout: float,
        poll: float,
        bound: float,
    ) -> None:
        self.provider = provider
        self.directory = directory
        self.timeout = timeout
        self.poll = poll
        self.bound = bound
        self.job_ids: list[str] = []
        self.gates: list[Path] = []

    # --- files and commands ------------------------------------------------------------

    def path(self, name: str) -> Path:
        """A fresh file path under the shared directory."""
        return self.directory / f"{name}-{uuid.uuid4().hex[:12]}"

    def gate(self) -> Path:
        """A gate file path (opened at cleanup at the latest)."""
        gate = self.path("gate")
        self.gates.append(gate)
        return gate

    def wait_for(self, path: Path) -> str:
        """Bash that waits until ``path`` exists (bounded)."""
        return gate_loop(path, self.bound)

    def held(self, gate: Path, started: Path) -> str:
        """A command that creates ``started`` and waits for ``gate``."""
        return f"touch {_q(started)}; {self.wait_for(gate)}"

    def family(self, gate: Path, pids: Path, started: Path) -> str:
        """A command that records its pid and a grandchild's in ``pids`` (``HOST PID``
        lines), creates ``started`` once both are recorded, and waits for ``gate``."""
        me = f'echo "$(uname -n) $$" >> {_q(pids)}'
        child = f'echo "$(uname -n) $BASHPID" >> {_q(pids)}; touch {_q(started)}; '
        return f"{me}\n( {child}{self.wait_for(gate)} ) &\n{self.wait_for(gate)}\nwait\n"

    # --- provider calls ----------------------------------------------------------------

    def submit(self, command: str) -> str:
        """Submit a block (one task per node) and remember its id for cleanup."""
        job_id = self.provider.submit(command, 1, _KIT_JOB_NAME)
        self.job_ids.append(job_id)
        return job_id

    def status(self, job_id: str) -> JobStatus:
        """The status of one block."""
        statuses = self.provider.status([job_id])
        assert isinstance(statuses, list) and len(statuses) == 1, (
            f"status([{job_id!r}]) returned {statuses!r}, not a list of one JobStatus"
        )
        status = statuses[0]
        assert isinstance(status, JobStatus), f"status() returned {status!r}"
        return status

    def wait_state(self, job_id: str, wanted: Callable[[JobState], bool], what: str) -> JobStatus:
        """Poll until the block's state is ``wanted``; fail when it ends otherwise or
        the block timeout passes."""
        seen: list[JobState] = []
        box: list[JobStatus] = []

        def check() -> bool:
            status = self.status(job_id)
            box[:] = [status]
            if not seen or seen[-1] is not status.state:
                seen.append(status.state)
            return wanted(status.state) or status.state.terminal

        reached = wait_until(check, self.timeout, self.poll)
        names = " -> ".join(s.name for s in seen)
        assert reached, f"block {job_id} never became {what} within {self.timeout} s ({names})"
        assert wanted(box[0].state), f"block {job_id} ended before it was {what} ({names})"
        return box[0]

    def wait_terminal(self, job_id: str) -> JobStatus:
        """Poll until the block reports a terminal state; its status."""
        return self.wait_state(job_id, lambda s: s.terminal, "terminal")

    def wait_file(self, path: Path, what: str) -> None:
        """Wait until a block creates ``path``."""
        assert wait_until(path.exists, self.timeout, self.poll), (
            f"{what}: {path.name} did not appear within {self.timeout} s"
        )

    def cleanup(self) -> None:
        """Open every gate and cancel the blocks that have not ended (best effort)."""
        for gate in self.gates:
            with contextlib.suppress(OSError):
                gate.touch()
        if not self.job_ids:
            return
        try:
            statuses = self.provider.status(self.job_ids)
            pairs = zip(self.job_ids, statuses, strict=False)
            live = [job_id for job_id, status in pairs if not status.state.terminal]
            if live:
                self.provider.cancel(live)
        except Exception:
            pass


class ProviderConformance(ConformanceBase):
    """The provider kit. Set ``component_class`` (and ``component_kwargs``); the kit
    runs real blocks through the provider. For a batch scheduler use
    :class:`plait.conformance.scheduler.SchedulerProviderConformance`, whose tests that
    submit blocks are in the integration tier."""

    kind: ClassVar[str] = "provider"
    spec_version: ClassVar[str] = "0.1"
    block_timeout: ClassVar[float] = 60.0
    """Seconds a test waits for a block to start, change state or end."""
    poll_interval: ClassVar[float] = 0.05
    """Seconds between two ``status`` calls while waiting."""
    walltime_seconds: ClassVar[float] = 2.0
    """The ``walltime`` the PRV-101 test gives the provider."""
    walltime_grace: ClassVar[float] = 30.0
    """Seconds past the walltime by which the block's processes must have ended."""
    settle_timeout: ClassVar[float] = 30.0
    """Seconds processes and threads may take to end after a block ended or was
    cancelled."""
    many_blocks: ClassVar[int] = 12
    """How many blocks the PRV-010 test submits at once."""

    def command_bound(self) -> float:
        """Seconds a kit command waits for a gate at most."""
        return 3 * self.block_timeout + self.walltime_seconds + self.walltime_grace

    @pytest.fixture
    def shared_dir(self, tmp_path: Path) -> Path:
        """Where blocks write marker files (override when blocks run on other hosts)."""
        path = tmp_path / "shared"
        path.mkdir()
        return path

    @pytest.fixture
    def script_dir(self, tmp_path: Path) -> Path:
        """The ``script_dir`` the kit gives providers."""
        path = tmp_path / "scripts"
        path.mkdir()
        return path

    def provider_with(
        self, component_kwargs: dict[str, Any], script_dir: Path, **extra: Any
    ) -> ExecutionProvider:
        """A new provider with ``script_dir`` set, as an executor would prepare it."""
        provider: ExecutionProvider = self.make({**component_kwargs, **extra})
        provider.script_dir = str(script_dir)
        return provider

    def blocks_for(self, provider: ExecutionProvider, shared_dir: Path) -> Blocks:
        """A :class:`Blocks` with this class's timeouts."""
        return Blocks(
            provider,
            shared_dir,
            timeout=self.block_timeout,
            poll=self.poll_interval,
            bound=self.command_bound(),
        )

    @pytest.fixture
    def provider(self, component_kwargs: dict[str, Any], script_dir: Path) -> ExecutionProvider:
        """A provider with ``script_dir`` set."""
        return self.provider_with(component_kwargs, script_dir)

    @pytest.fixture
    def blocks(self, provider: ExecutionProvider, shared_dir: Path) -> Iterator[Blocks]:
        """Submits blocks to ``provider``; cleans them up after the test."""
        blocks = self.blocks_for(provider, shared_dir)
        yield blocks
        blocks.cleanup()

    @pytest.fixture
    def walltime_blocks(
        self, component_kwargs: dict[str, Any], script_dir: Path, shared_dir: Path
    ) -> Iterator[Blocks]:
        """Blocks of a provider constructed with ``walltime=walltime_seconds``."""
        provider = self.provider_with(component_kwargs, script_dir, walltime=self.walltime_seconds)
        blocks = self.blocks_for(provider, shared_dir)
        yield blocks
        blocks.cleanup()

    def assert_processes_end(self, pids: list[int], timeout: float, what: str) -> None:
        """Wait up to ``timeout`` for every process in ``pids`` to end."""
        ended = wait_until(lambda: not any(pid_alive(p) for p in pids), timeout, 0.02)
        alive = [p for p in pids if pid_alive(p)]
        assert ended, f"{what}: processes {alive} still alive after {timeout} s"

    # --- core tier: construction and declarations ---------------------------------------

    @requirement("PRV-001")
    def test_construction_starts_nothing(self, component_kwargs: dict[str, Any]) -> None:
        threads, pids = set(threading.enumerate()), child_pids()
        provider = self.make(component_kwargs)
        assert isinstance(provider, ExecutionProvider)
        started = [t.name for t in threading.enumerate() if t not in threads]
        assert not started, f"construction started threads: {started}"
        assert not child_pids() - pids, "construction started processes"

    @requirement("PRV-001")
    @pytest.mark.parametrize(
        ("bad", "names"), INVALID_OPTIONS, ids=[str(o[0]) for o in INVALID_OPTIONS]
    )
    def test_invalid_options_raise_config_error(
        self, component_kwargs: dict[str, Any], bad: dict[str, Any], names: tuple[str, ...]
    ) -> None:
        try:
            self.make({**component_kwargs, **bad})
        except ConfigError as error:
            assert any(n in str(error) for n in names), f"the error names none of {names}: {error}"
        except Exception as error:
            pytest.fail(f"{bad} raised {type(error).__name__}, not ConfigError: {error}")
        else:
            pytest.fail(f"the provider accepted {bad}")

    @requirement("PRV-002")
    def test_label_and_block_options(self, component_kwargs: dict[str, Any]) -> None:
        default = self.make(component_kwargs)
        label = default.label
        assert isinstance(label, str) and label, f"label must be a non-empty str, got {label!r}"
        counts = {n: getattr(default, n) for n in ("init_blocks", "min_blocks", "max_blocks")}
        for name, value in counts.items():
            assert type(value) is int and value >= 0, f"{name} is {value!r}"
        assert counts["min_blocks"] <= counts["max_blocks"], f"block counts {counts}"
        nodes = default.nodes_per_block
        assert type(nodes) is int and nodes >= 1, f"nodes_per_block is {nodes!r}"
        interval = default.status_polling_interval
        assert isinstance(interval, (int, float)) and not isinstance(interval, bool)
        assert interval > 0, f"status_polling_interval is {interval!r}"

        options: dict[str, Any] = {
            "label": "plait-kit-label",
            "init_blocks": 2,
            "min_blocks": 1,
            "max_blocks": 3,
            "nodes_per_block": 1,
            "status_polling_interval": 2.5,
        }
        configured = self.make({**component_kwargs, **options})
        actual = {name: getattr(configured, name) for name in options}
        assert actual == options, "the attributes do not hold the constructor's values"

    @requirement("PRV-003")
    def test_declares_capabilities_and_maturity(self) -> None:
        cls = self.component_class
        assert_declarations(cls, ExecutionProvider, PROVIDER_CAPABILITIES, "provider")

    # --- core tier: blocks --------------------------------------------------------------

    @needs_backend
    @requirement("PRV-004")
    def test_submit_returns_a_job_id_without_waiting(self, blocks: Blocks) -> None:
        gate, started = blocks.gate(), blocks.path("started")
        command = blocks.held(gate, started)
        finished, first = call_with_timeout(
            lambda: blocks.provider.submit(command, 1, _KIT_JOB_NAME), self.block_timeout
        )
        assert finished, "submit() did not return while the block was running"
        if isinstance(first, BaseException):
            raise first
        blocks.job_ids.append(first)
        assert isinstance(first, str) and first, f"the job id must be a non-empty str: {first!r}"
        assert first == first.strip(), f"the job id has surrounding whitespace: {first!r}"
        blocks.wait_file(started, "the block's command did not run")
        assert not blocks.status(first).state.terminal, "the block ended before its gate opened"
        ids = [first] + [blocks.submit("exit 0") for _ in range(2)]
        assert len(set(ids)) == 3, f"submit() returned the same id twice: {ids}"
        gate.touch()
        for job_id in ids:
            blocks.wait_terminal(job_id)
        later = blocks.submit("exit 0")
        assert later not in ids, f"submit() reused the id {later!r} of an ended block"
        blocks.wait_terminal(later)

    @needs_backend
    @requirement("PRV-005")
    def test_status_of_no_ids_and_unknown_ids(self, provider: ExecutionProvider) -> None:
        assert provider.status([]) == []
        statuses = provider.status([UNKNOWN_JOB_ID, "plait-kit-no-such-job"])
        assert isinstance(statuses, list) and len(statuses) == 2, f"got {statuses!r}"
        for status in statuses:
            assert isinstance(status, JobStatus), f"got {status!r}"
            assert status.state is JobState.MISSING, f"an unknown id was reported {status}"

    @needs_backend
    @requirement("PRV-005")
    def test_status_keeps_the_order_of_ids(self, blocks: Blocks) -> None:
        gate, started = blocks.gate(), blocks.path("started")
        running = blocks.submit(blocks.held(gate, started))
        done = blocks.submit("exit 0")
        blocks.wait_file(started, "the held block did not start")
        blocks.wait_terminal(done)
        statuses = blocks.provider.status([running, UNKNOWN_JOB_ID, done])
        assert isinstance(statuses, list) and len(statuses) == 3, f"got {statuses!r}"
        states = [s.state for s in statuses]
        assert not states[0].terminal, f"order lost: {states}"
        assert states[1] is JobState.MISSING, f"order lost: {states}"
        assert states[2].terminal, f"order lost: {states}"

    @needs_backend
    @requirement("PRV-006")
    def test_running_then_completed(self, blocks: Blocks) -> None:
        gate, started = blocks.gate(), blocks.path("started")
        job_id = blocks.submit(blocks.held(gate, started))
        early = blocks.status(job_id).state
        assert early in (JobState.PENDING, JobState.HELD, JobState.RUNNING, JobState.UNKNOWN), (
            f"a block that was just submitted is {early.name}"
        )
        blocks.wait_file(started, "the block's command did not run")
        blocks.wait_state(job_id, lambda s: s is JobState.RUNNING, "RUNNING")
        gate.touch()
        final = blocks.wait_terminal(job_id)
        assert final.state is JobState.COMPLETED, f"exit status 0 was reported {final}"
        for _ in range(3):
            assert blocks.status(job_id).state is JobState.COMPLETED, "a terminal state changed"

    @needs_backend
    @requirement("PRV-007")
    def test_nonzero_exit_is_failed(self, blocks: Blocks) -> None:
        job_id = blocks.submit("exit 3")
        final = blocks.wait_terminal(job_id)
        assert final.state is JobState.FAILED, f"exit status 3 was reported {final}"
        assert blocks.status(job_id).state is JobState.FAILED, "a terminal state changed"

    @needs_backend
    @requirement("PRV-008")
    def test_exit_code_is_reported(self, blocks: Blocks) -> None:
        ok, bad = blocks.submit("exit 0"), blocks.submit("exit 3")
        assert blocks.wait_terminal(ok).exit_code == 0, "exit status 0 is not in exit_code"
        assert blocks.wait_terminal(bad).exit_code == 3, "exit status 3 is not in exit_code"

    @needs_backend
    @requirement("PRV-009")
    def test_cancel_ends_the_whole_block(self, blocks: Blocks) -> None:
        victims: list[tuple[str, Path]] = []
        for _ in range(2):
            gate, pids, started = blocks.gate(), blocks.path("pids"), blocks.path("started")
            victims.append((blocks.submit(blocks.family(gate, pids, started)), pids))
            blocks.wait_file(started, "the block's command did not run")
        gate, started = blocks.gate(), blocks.path("started")
        bystander = blocks.submit(blocks.held(gate, started))
        blocks.wait_file(started, "the block's command did not run")

        result = blocks.provider.cancel([job_id for job_id, _ in victims])
        assert result == [True, True], f"cancel() of two running blocks returned {result!r}"
        processes = [pid for _, path in victims for pid in host_pids(path)]
        self.assert_processes_end(processes, self.settle_timeout, "cancelled blocks")
        for job_id, _ in victims:
            final = blocks.wait_terminal(job_id)
            assert final.state is JobState.CANCELLED, f"a cancelled block was reported {final}"
        assert not blocks.status(bystander).state.terminal, "cancel() ended another block"
        again = blocks.provider.cancel([victims[0][0]])
        assert isinstance(again, list) and len(again) == 1 and isinstance(again[0], bool), (
            f"a second cancel() returned {again!r}"
        )
        assert blocks.status(victims[0][0]).state is JobState.CANCELLED, "a terminal state changed"
        gate.touch()
        final = blocks.wait_terminal(bystander)
        assert final.state is not JobState.CANCELLED, f"the block left alone was reported {final}"

    @needs_backend
    @requirement("PRV-009")
    def test_cancel_of_unknown_and_ended_blocks(self, blocks: Blocks) -> None:
        assert blocks.provider.cancel([]) == []
        assert blocks.provider.cancel([UNKNOWN_JOB_ID]) == [False], "cancel() of an unknown id"
        done = blocks.submit("exit 0")
        before = blocks.wait_terminal(done).state
        assert blocks.provider.cancel([done]) == [False], "cancel() of an ended block"
        assert blocks.status(done).state is before, "cancel() changed the state of an ended block"

    @needs_backend
    @requirement("PRV-010")
    def test_many_blocks_from_many_threads(self, blocks: Blocks) -> None:
        n, workers = self.many_blocks, 4
        markers = [blocks.path(f"block{i}") for i in range(n)]
        ids: list[str | None] = [None] * n
        errors: list[BaseException] = []
        barrier = threading.Barrier(workers + 1, timeout=self.block_timeout)
        stop = threading.Event()

        def submitter(k: int) -> None:
            try:
                barrier.wait()
                for i in range(k, n, workers):
                    ids[i] = blocks.provider.submit(f"echo $$ > {_q(markers[i])}", 1, _KIT_JOB_NAME)
            except BaseException as exc:
                errors.append(exc)

        def poller() -> None:
            try:
                barrier.wait()
                while not stop.is_set():
                    known = [i for i in ids if i is not None]
                    statuses = blocks.provider.status(known)
                    assert len(statuses) == len(known), "status() lost ids while blocks started"
                    stop.wait(self.poll_interval)
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=submitter, args=(k,), name=f"plait-kit-submit-{k}")
            for k in range(workers)
        ]
        watcher = threading.Thread(target=poller, name="plait-kit-status")
        for thread in [*threads, watcher]:
            thread.start()
        for thread in threads:
            thread.join(self.block_timeout)
        stop.set()
        watcher.join(self.block_timeout)
        blocks.job_ids.extend(i for i in ids if i is not None)
        assert not any(t.is_alive() for t in [*threads, watcher]), "provider calls hung"
        if errors:
            raise AssertionError(f"concurrent calls failed: {errors[0]!r}") from errors[0]
        assert len({i for i in ids if i is not None}) == n, f"job ids are not unique: {ids}"
        for job_id in ids:
            assert job_id is not None
            blocks.wait_terminal(job_id)
        missing = [m.name for m in markers if not m.exists()]
        assert not missing, f"{len(missing)} of {n} blocks never ran their command"

    @needs_backend
    @requirement("PRV-011")
    def test_nothing_left_once_blocks_end(
        self, component_kwargs: dict[str, Any], script_dir: Path, shared_dir: Path
    ) -> None:
        threads, pids = set(threading.enumerate()), child_pids()
        provider = self.provider_with(component_kwargs, script_dir)
        blocks = self.blocks_for(provider, shared_dir)
        try:
            gate, started = blocks.gate(), blocks.path("started")
            held = blocks.submit(blocks.held(gate, started))
            ended = [blocks.submit("exit 0"), blocks.submit("exit 3")]
            blocks.wait_file(started, "the block's command did not run")
            for job_id in ended:
                blocks.wait_terminal(job_id)
            provider.cancel([held])
            blocks.wait_terminal(held)
        finally:
            blocks.cleanup()
        alive = leftovers(threads, pids, self.settle_timeout)
        assert alive == [], "threads or processes the provider started outlived its blocks"

    @needs_backend
    @requirement("PRV-012")
    def test_background_processes_end_with_the_block(self, blocks: Blocks) -> None:
        gate, pids, ready = blocks.gate(), blocks.path("pids"), blocks.path("ready")
        child = f'echo "$(uname -n) $BASHPID" >> {_q(pids)}; touch {_q(ready)}; '
        command = f"( {child}{blocks.wait_for(gate)} ) &\n{blocks.wait_for(ready)}\nexit 0\n"
        job_id = blocks.submit(command)
        blocks.wait_terminal(job_id)
        self.assert_processes_end(host_pids(pids), self.settle_timeout, "a block's leftovers")

    @needs_backend
    @requirement("PRV-013")
    def test_files_stay_in_script_dir(
        self,
        component_kwargs: dict[str, Any],
        script_dir: Path,
        shared_dir: Path,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        cwd = tmp_path / "cwd"
        cwd.mkdir()
        monkeypatch.chdir(cwd)
        blocks = self.blocks_for(self.provider_with(component_kwargs, script_dir), shared_dir)
        try:
            ok = blocks.submit("echo plait-kit-out; echo plait-kit-err >&2; exit 0")
            bad = blocks.submit("echo plait-kit-out; echo plait-kit-err >&2; exit 3")
            blocks.wait_terminal(ok)
            blocks.wait_terminal(bad)
        finally:
            blocks.cleanup()
        written = sorted(p.name for p in cwd.iterdir())
        assert written == [], f"the provider wrote to the working directory: {written}"

    # --- extended tier ------------------------------------------------------------------

    @requirement("PRV-101", capability="walltime")
    def test_walltime_option_is_validated(self, component_kwargs: dict[str, Any]) -> None:
        self.make({**component_kwargs, "walltime": "00:10:00"})
        self.make({**component_kwargs, "walltime": 600})
        for bad in ("soon", 0, -5):
            with pytest.raises((ConfigError, ResourceSpecificationError)) as info:
                self.make({**component_kwargs, "walltime": bad})
            assert "walltime" in str(info.value), f"the error does not name walltime: {info.value}"

    @needs_backend
    @requirement("PRV-101", capability="walltime")
    def test_walltime_ends_the_whole_block(self, walltime_blocks: Blocks) -> None:
        blocks = walltime_blocks
        quick = blocks.submit("exit 0")
        gate, pids, started = blocks.gate(), blocks.path("pids"), blocks.path("started")
        job_id = blocks.submit(blocks.family(gate, pids, started))
        blocks.wait_file(started, "the block's command did not run")
        limit = self.walltime_seconds + self.walltime_grace
        self.assert_processes_end(host_pids(pids), limit, "a block past its walltime")
        final = blocks.wait_terminal(job_id)
        assert final.state in (JobState.TIMEOUT, JobState.FAILED), (
            f"a block ended by its walltime was reported {final}"
        )
        short = blocks.wait_terminal(quick)
        assert short.state is not JobState.TIMEOUT, f"a block within its walltime: {short}"

    @needs_backend
    @requirement("PRV-102", capability="std_streams")
    def test_status_names_the_output_files(self, blocks: Blocks, script_dir: Path) -> None:
        token = uuid.uuid4().hex
        out, err = f"plait-kit-out-{token}", f"plait-kit-err-{token}"
        for code in (0, 3):
            job_id = blocks.submit(f"echo {out}; echo {err} >&2; exit {code}")
            final = blocks.wait_terminal(job_id)
            assert final.stdout_path and final.stderr_path, f"no output files in {final}"
            assert final.stdout_path != final.stderr_path, "stdout and stderr share one file"
            stdout, stderr = Path(final.stdout_path), Path(final.stderr_path)
            for path in (stdout, stderr):
                assert path.resolve().is_relative_to(script_dir.resolve()), (
                    f"{path} is not under script_dir {script_dir}"
                )
            for path in (stdout, stderr):
                blocks.wait_file(path, "an output file the status names")
            stdout_text, stderr_text = stdout.read_text(), stderr.read_text()
            assert out in stdout_text and err not in stdout_text, f"stdout file: {stdout_text!r}"
            assert err in stderr_text and out not in stderr_text, f"stderr file: {stderr_text!r}"
