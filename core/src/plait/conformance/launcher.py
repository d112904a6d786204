"""Conformance tests for launchers (``interface-specs/launcher.md``).

The tests build launch lines with the launcher and run them through the ``run_line``
fixture (default: ``bash -c LINE`` on this host, in a new session). Each copy of a kit
command reports through files it creates with ``mktemp`` under the ``shared_dir``
fixture, and the tests count and read those files. Apart from the quoting test, kit
commands use no single quotes. The LNC-103 tests build their own lines, ``env K=V ...
PREFIX python -c PROGRAM``, from :meth:`~plait.interfaces.Launcher.mpi_launch`, on the
hosts of the ``mpi_hosts`` fixture.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest

from plait.conformance._support import count_files, gate_loop, needs_backend, sh_quote
from plait.conformance.base import (
    ConformanceBase,
    assert_declarations,
    child_pids,
    requirement,
    wait_until,
)
from plait.errors import ConfigError
from plait.interfaces import Launcher, MpiLaunch

LAUNCHER_CAPABILITIES = frozenset({"fan_out", "mpi"})
"""Capabilities ``interface-specs/launcher.md`` defines."""

QUOTING_COMMAND = r"""X='two  spaces'; Y="dq \"inner\" \$X and $X"
printf '<%s>\n' "$X" "$Y" 'single $X "dq" \n' "a;b" 'c && d' "e|f" '`bt`' "$(echo sub)"
printf '<%s>\n' "$((6 * 7))" "bang!" '#hash' "%d" "tab	end"
echo "it's" 'say "hi"' \$HOME\ \\end; echo second; true && echo third || echo never
if [ "$X" = 'two  spaces' ]; then
  printf '%s\n' "multi-line ok" | tr a-z A-Z
fi # a trailing comment with 'quotes' and "more"
"""
"""A command whose output depends on bash seeing exactly this text (LNC-004)."""


RANK_PROGRAM = """\
import os, sys, tempfile
from mpi4py import MPI
c = MPI.COMM_WORLD
fd, _ = tempfile.mkstemp(prefix="rank.", dir=sys.argv[1])
os.write(fd, f"{c.Get_rank()} {c.Get_size()}".encode())
"""
"""An mpi4py program: each rank writes ``RANK SIZE`` to a new file in directory ``argv[1]``."""

FAILING_RANK_PROGRAM = """\
import sys
from mpi4py import MPI
if MPI.COMM_WORLD.Get_rank() == 1:
    sys.exit(3)
"""
"""An mpi4py program whose rank 1 exits with 3 and the others with 0."""


def _reaches(directory: Path, prefix: str, n: int) -> Callable[[], bool]:
    """A predicate: ``directory`` holds at least ``n`` files named ``prefix*``."""
    return lambda: count_files(directory, prefix) >= n


def _assert_one_job(run: Path, size: int, what: str) -> None:
    """The ``rank.*`` files in ``run`` say ``RANK SIZE`` for ranks 0 to ``size`` - 1 of
    one job of ``size`` ranks."""
    pairs = [tuple(map(int, p.read_text().split())) for p in run.glob("rank.*")]
    sizes = {n for _, n in pairs}
    ranks = sorted(rank for rank, _ in pairs)
    assert sizes == {size}, f"{what}: COMM_WORLD sizes {sorted(sizes)}"
    assert ranks == list(range(size)), f"{what}: ranks {ranks}"


def _skip_without_mpi4py() -> None:
    """Skip the test when this Python cannot import mpi4py (the mpi tests run it)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import mpi4py"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("mpi4py is not importable by this Python; the mpi test needs it")


def _mpi_line(launch: MpiLaunch, *program: str) -> str:
    """The bash line that runs ``program`` (argv words) as ``env K=V ... PREFIX ...``."""
    assert isinstance(launch, MpiLaunch), f"mpi_launch returned {launch!r}, not an MpiLaunch"
    assert all(isinstance(word, str) for word in launch.prefix), (
        f"the prefix {launch.prefix!r} holds something other than str"
    )
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in launch.env.items()), (
        f"the env {launch.env!r} holds something other than str"
    )
    env = [f"{name}={value}" for name, value in launch.env.items()]
    return shlex.join(["env", *env, *launch.prefix, *program])


class LineRunner(Protocol):
    """Starts a launch line the way a block would run it; returns the running process
    (stdout and stderr piped, text mode)."""

    def __call__(
        self,
        line: str,
        *,
        tasks_per_node: int,
        nodes_per_block: int,
        cwd: Path,
        env: Mapping[str, str],
    ) -> subprocess.Popen[str]: ...


def run_locally(
    line: str,
    *,
    tasks_per_node: int,
    nodes_per_block: int,
    cwd: Path,
    env: Mapping[str, str],
) -> subprocess.Popen[str]:
    """The default :class:`LineRunner`: ``bash -c LINE`` on this host, in a new session."""
    return subprocess.Popen(
        ["bash", "-c", line],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


class Lines:
    """The launch lines one kit test runs; :meth:`cleanup` ends any still running."""

    def __init__(
        self, launcher: Launcher, runner: LineRunner, workdir: Path, timeout: float
    ) -> None:
        self.launcher = launcher
        self.runner = runner
        self.workdir = workdir
        self.timeout = timeout
        self.running: list[subprocess.Popen[str]] = []

    def start(
        self,
        command: str,
        tasks_per_node: int,
        nodes_per_block: int = 1,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[str]:
        """Build the launch line for ``command`` and start it."""
        line = self.launcher(command, tasks_per_node, nodes_per_block)
        assert isinstance(line, str), f"the launcher returned {line!r}, not a str"
        return self.start_raw(line, tasks_per_node, nodes_per_block, cwd=cwd, env=env)

    def start_raw(
        self,
        line: str,
        tasks_per_node: int,
        nodes_per_block: int = 1,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[str]:
        """Start a line the test built itself, as a block of that shape would run it."""
        proc = self.runner(
            line,
            tasks_per_node=tasks_per_node,
            nodes_per_block=nodes_per_block,
            cwd=cwd or self.workdir,
            env=os.environ if env is None else env,
        )
        self.running.append(proc)
        return proc

    def finish(self, proc: subprocess.Popen[str]) -> tuple[int, str, str]:
        """Wait for a started line; its exit status, stdout and stderr."""
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.kill(proc)
            pytest.fail(f"the launch line did not end within {self.timeout} s")
        return proc.returncode, out, err

    def run(
        self, command: str, tasks_per_node: int, nodes_per_block: int = 1
    ) -> tuple[int, str, str]:
        """Build, run and wait for a launch line."""
        return self.finish(self.start(command, tasks_per_node, nodes_per_block))

    def run_raw(
        self, line: str, tasks_per_node: int, nodes_per_block: int = 1
    ) -> tuple[int, str, str]:
        """Run and wait for a line the test built itself."""
        return self.finish(self.start_raw(line, tasks_per_node, nodes_per_block))

    @staticmethod
    def kill(proc: subprocess.Popen[str]) -> None:
        """End a line and whatever runs in its process group."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=10)

    def cleanup(self) -> None:
        """Kill the lines that still run (after a failed test)."""
        for proc in self.running:
            if proc.poll() is None:
                self.kill(proc)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


class LauncherConformance(ConformanceBase):
    """The launcher kit. Set ``component_class`` (and ``component_kwargs``). For a
    launcher whose line only runs inside an allocation use
    :class:`plait.conformance.scheduler.SchedulerLauncherConformance`."""

    kind: ClassVar[str] = "launcher"
    spec_version: ClassVar[str] = "0.2"
    line_timeout: ClassVar[float] = 60.0
    """Seconds a launch line, or its copies, may take to start or end."""
    settle_window: ClassVar[float] = 0.5
    """Seconds the LNC-006 test watches a line that must not have ended."""
    max_nodes: ClassVar[int] = 1
    """The largest ``nodes_per_block`` the ``run_line`` fixture can run a line with."""

    @pytest.fixture
    def launcher(self, component_kwargs: dict[str, Any]) -> Launcher:
        """The launcher under test."""
        launcher: Launcher = self.make(component_kwargs)
        return launcher

    @pytest.fixture
    def shared_dir(self, tmp_path: Path) -> Path:
        """Where copies write their files (override when copies run on other hosts)."""
        path = tmp_path / "shared"
        path.mkdir()
        return path

    @pytest.fixture
    def run_line(self) -> LineRunner:
        """How the kit runs a launch line; override to run it inside an allocation."""
        return run_locally

    @pytest.fixture
    def mpi_hosts(self) -> list[str]:
        """Host names the LNC-103 tests give ``mpi_launch``, one per node the ``run_line``
        fixture provides (override with the allocation's node names)."""
        return ["localhost"]

    @pytest.fixture
    def lines(self, launcher: Launcher, run_line: LineRunner, tmp_path: Path) -> Iterator[Lines]:
        """Runs launch lines; kills those still running after the test."""
        workdir = tmp_path / "work"
        workdir.mkdir(exist_ok=True)
        lines = Lines(launcher, run_line, workdir, self.line_timeout)
        yield lines
        lines.cleanup()

    def shapes(self) -> list[tuple[int, int]]:
        """``(tasks_per_node, nodes_per_block)`` pairs the fan-out tests run."""
        shapes = [(1, 1), (3, 1)]
        if self.max_nodes >= 2:
            shapes.append((2, 2))
        return shapes

    def mpi_jobs(self, hosts: Sequence[str]) -> list[tuple[int, int, list[str]]]:
        """``(num_ranks, ranks_per_node, hosts)`` of the jobs the LNC-103 test starts: on
        the first host, on it given twice, and on the first two when ``max_nodes >= 2``."""
        first = hosts[0]
        jobs = [(1, 1, [first]), (3, 3, [first]), (4, 2, [first, first])]
        if self.max_nodes >= 2 and len(set(hosts[:2])) == 2:
            jobs.append((4, 2, list(hosts[:2])))
        return jobs

    # --- core tier: building lines ------------------------------------------------------

    @requirement("LNC-001")
    def test_call_returns_a_line_and_does_nothing_else(
        self, launcher: Launcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cwd = tmp_path / "cwd"
        cwd.mkdir()
        monkeypatch.chdir(cwd)
        threads, pids = set(threading.enumerate()), child_pids()
        for tasks_per_node, nodes_per_block in ((1, 1), (4, 1), (2, 3)):
            line = launcher("echo plait-kit", tasks_per_node, nodes_per_block)
            assert isinstance(line, str) and line.strip(), (
                f"launcher(..., {tasks_per_node}, {nodes_per_block}) returned {line!r}"
            )
        started = [t.name for t in threading.enumerate() if t not in threads]
        assert not started, f"building a line started threads: {started}"
        assert not child_pids() - pids, "building a line started processes"
        written = sorted(p.name for p in cwd.iterdir())
        assert written == [], f"building a line wrote files: {written}"

    @requirement("LNC-002")
    @pytest.mark.parametrize(
        ("tasks_per_node", "nodes_per_block", "name"),
        [(0, 1, "tasks_per_node"), (-1, 1, "tasks_per_node"), (1, 0, "nodes_per_block")],
    )
    def test_invalid_counts_raise_config_error(
        self, launcher: Launcher, tasks_per_node: int, nodes_per_block: int, name: str
    ) -> None:
        try:
            launcher("echo plait-kit", tasks_per_node, nodes_per_block)
        except ConfigError as error:
            assert name in str(error), f"the error does not name {name}: {error}"
        except Exception as error:
            pytest.fail(f"{name} < 1 raised {type(error).__name__}, not ConfigError: {error}")
        else:
            pytest.fail(f"the launcher accepted {name} = {min(tasks_per_node, nodes_per_block)}")

    @requirement("LNC-002")
    def test_counts_of_one_and_more_are_accepted(self, launcher: Launcher) -> None:
        for tasks_per_node, nodes_per_block in ((1, 1), (1, 4), (8, 1), (3, 5)):
            try:
                launcher("echo plait-kit", tasks_per_node, nodes_per_block)
            except Exception as error:
                pytest.fail(
                    f"tasks_per_node={tasks_per_node}, nodes_per_block={nodes_per_block} "
                    f"raised {type(error).__name__}: {error}"
                )

    @requirement("LNC-003")
    def test_declares_capabilities_and_maturity(self) -> None:
        cls = self.component_class
        assert_declarations(cls, Launcher, LAUNCHER_CAPABILITIES, "launcher")

    # --- core tier: running lines -------------------------------------------------------

    @needs_backend
    @requirement("LNC-004")
    def test_command_text_survives(self, lines: Lines, shared_dir: Path) -> None:
        expected = subprocess.run(
            ["bash", "-c", QUOTING_COMMAND],
            capture_output=True,
            text=True,
            check=True,
            cwd=lines.workdir,
        ).stdout
        template = sh_quote(str(shared_dir / "quote.XXXXXX"))
        command = f'out=$(mktemp {template}) && {{\n{QUOTING_COMMAND}\n}} > "$out"'
        code, _, err = lines.run(command, 2)
        assert code == 0, f"the launch line exited with {code}: {err}"
        outputs = [p.read_text() for p in shared_dir.glob("quote.*")]
        assert outputs, "no copy of the command ran"
        for output in outputs:
            assert output == expected, "a copy's output differs from bash -c COMMAND's"

    @needs_backend
    @requirement("LNC-005")
    def test_copies_inherit_working_directory_and_environment(
        self, lines: Lines, shared_dir: Path, tmp_path: Path
    ) -> None:
        token = uuid.uuid4().hex
        cwd = tmp_path / "elsewhere"
        cwd.mkdir()
        template = sh_quote(str(shared_dir / "env.XXXXXX"))
        command = f'out=$(mktemp {template}) && {{ pwd -P; echo "$PLAIT_KIT_TOKEN"; }} > "$out"'
        proc = lines.start(command, 2, cwd=cwd, env={**os.environ, "PLAIT_KIT_TOKEN": token})
        code, _, err = lines.finish(proc)
        assert code == 0, f"the launch line exited with {code}: {err}"
        outputs = [p.read_text().splitlines() for p in shared_dir.glob("env.*")]
        assert outputs, "no copy of the command ran"
        for output in outputs:
            assert output == [str(cwd.resolve()), token], (
                f"a copy ran in {output[:1]} with PLAIT_KIT_TOKEN={output[1:]}, "
                f"not in {cwd.resolve()} with {token}"
            )

    @needs_backend
    @requirement("LNC-006")
    def test_line_ends_after_every_copy(self, lines: Lines, shared_dir: Path) -> None:
        gate, slow = shared_dir / "gate", shared_dir / "slow"
        started = sh_quote(str(shared_dir / "started.XXXXXX"))
        done = sh_quote(str(shared_dir / "done.XXXXXX"))
        # one copy (the first to create "slow") waits for the gate; the others fail at once
        command = (
            f"mktemp {started} > /dev/null\n"
            f"if mkdir {sh_quote(str(slow))} 2>/dev/null; then\n"
            f"  {gate_loop(gate, 3 * self.line_timeout)}\n"
            f"  mktemp {done} > /dev/null; exit 0\n"
            f"fi\n"
            f"mktemp {done} > /dev/null; exit 3\n"
        )
        proc = lines.start(command, 2)
        try:

            def fast_copies_done() -> bool:
                n = count_files(shared_dir, "started.")
                return slow.exists() and n >= 1 and count_files(shared_dir, "done.") >= n - 1

            assert wait_until(fast_copies_done, self.line_timeout), "the copies did not start"
            ended = wait_until(lambda: proc.poll() is not None, self.settle_window)
            assert not ended, "the launch line ended while a copy was still running"
        finally:
            gate.touch()
        lines.finish(proc)
        n_started, n_done = count_files(shared_dir, "started."), count_files(shared_dir, "done.")
        assert n_done == n_started, f"the line ended with {n_started - n_done} copies running"

    @needs_backend
    @requirement("LNC-007")
    def test_exit_status_is_zero_only_when_every_copy_succeeds(
        self, lines: Lines, shared_dir: Path
    ) -> None:
        code, _, err = lines.run("exit 0", 2)
        assert code == 0, f"every copy exited with 0, the line with {code}: {err}"
        code, _, _ = lines.run("exit 3", 2)
        assert code != 0, "every copy exited with 3, the line with 0"
        first = sh_quote(str(shared_dir / "first"))
        code, _, _ = lines.run(f"if mkdir {first} 2>/dev/null; then exit 5; fi; exit 0", 2)
        assert code != 0, "one copy exited with 5, the line with 0"

    @needs_backend
    @requirement("LNC-008")
    def test_exit_status_of_the_failing_copies(self, lines: Lines) -> None:
        code, _, _ = lines.run("exit 4", 2)
        assert code == 4, f"the copies exited with 4, the line with {code}"

    @needs_backend
    @requirement("LNC-009")
    def test_copies_output_reaches_the_line(self, lines: Lines, shared_dir: Path) -> None:
        token = uuid.uuid4().hex
        out, err = f"plait-kit-out-{token}", f"plait-kit-err-{token}"
        marker = sh_quote(str(shared_dir / "stream.XXXXXX"))
        code, stdout, stderr = lines.run(f"echo {out}; echo {err} >&2; mktemp {marker}", 2)
        assert code == 0, f"the launch line exited with {code}: {stderr}"
        copies = count_files(shared_dir, "stream.")
        assert copies >= 1, "no copy of the command ran"
        assert stdout.count(out) == copies, f"{copies} copies ran; the line's stdout: {stdout!r}"
        assert stderr.count(err) == copies, f"{copies} copies ran; the line's stderr: {stderr!r}"
        assert err not in stdout, "the copies' stderr went to the line's stdout"
        assert out not in stderr, "the copies' stdout went to the line's stderr"

    # --- extended tier ------------------------------------------------------------------

    @needs_backend
    @requirement("LNC-101", capability="fan_out")
    def test_runs_one_copy_per_task_slot(self, lines: Lines, shared_dir: Path) -> None:
        for tasks_per_node, nodes_per_block in self.shapes():
            expected = tasks_per_node * nodes_per_block
            run = shared_dir / f"{tasks_per_node}x{nodes_per_block}"
            run.mkdir()
            gate = run / "gate"
            started = sh_quote(str(run / "started.XXXXXX"))
            done = sh_quote(str(run / "done.XXXXXX"))
            command = (
                f"mktemp {started} > /dev/null\n"
                f"{gate_loop(gate, 3 * self.line_timeout)}\n"
                f"mktemp {done} > /dev/null\n"
            )
            proc = lines.start(command, tasks_per_node, nodes_per_block)
            try:
                together = wait_until(_reaches(run, "started.", expected), self.line_timeout)
            finally:
                gate.touch()
            code, _, err = lines.finish(proc)
            n_started = count_files(run, "started.")
            shape = f"tasks_per_node={tasks_per_node}, nodes_per_block={nodes_per_block}"
            assert together, f"{shape}: only {n_started} of {expected} copies ran at once"
            assert code == 0, f"{shape}: the launch line exited with {code}: {err}"
            assert n_started == expected, f"{shape}: {n_started} copies ran, not {expected}"
            assert count_files(run, "done.") == expected

    @needs_backend
    @requirement("LNC-102", capability="mpi")
    def test_copies_are_the_ranks_of_one_mpi_job(self, lines: Lines, shared_dir: Path) -> None:
        _skip_without_mpi4py()
        program = "from mpi4py import MPI; c = MPI.COMM_WORLD; print(c.Get_rank(), c.Get_size())"
        for tasks_per_node, nodes_per_block in self.shapes()[1:]:
            expected = tasks_per_node * nodes_per_block
            run = shared_dir / f"mpi-{tasks_per_node}x{nodes_per_block}"
            run.mkdir()
            out = sh_quote(str(run / "rank.XXXXXX"))
            command = f'{sh_quote(sys.executable)} -c {sh_quote(program)} > "$(mktemp {out})"'
            code, _, err = lines.run(command, tasks_per_node, nodes_per_block)
            shape = f"tasks_per_node={tasks_per_node}, nodes_per_block={nodes_per_block}"
            assert code == 0, f"{shape}: the launch line exited with {code}: {err}"
            _assert_one_job(run, expected, shape)

    @needs_backend
    @requirement("LNC-103", capability="mpi")
    def test_mpi_launch_starts_the_ranks_of_one_job(
        self, launcher: Launcher, lines: Lines, shared_dir: Path, mpi_hosts: list[str]
    ) -> None:
        _skip_without_mpi4py()
        for num_ranks, ranks_per_node, hosts in self.mpi_jobs(mpi_hosts):
            run = shared_dir / f"mpi-launch-{num_ranks}x{ranks_per_node}-{len(hosts)}"
            run.mkdir()
            launch = launcher.mpi_launch(num_ranks, ranks_per_node, hosts)
            line = _mpi_line(launch, sys.executable, "-c", RANK_PROGRAM, str(run))
            job = f"mpi_launch({num_ranks}, {ranks_per_node}, {hosts})"
            # a block of one task per node runs the job, as an MPI app's worker would
            code, _, err = lines.run_raw(line, 1, len(set(hosts)))
            assert code == 0, f"{job}: {line} exited with {code}: {err}"
            _assert_one_job(run, num_ranks, job)

    @needs_backend
    @requirement("LNC-103", capability="mpi")
    def test_mpi_launch_job_fails_when_a_rank_fails(
        self, launcher: Launcher, lines: Lines, mpi_hosts: list[str]
    ) -> None:
        _skip_without_mpi4py()
        launch = launcher.mpi_launch(3, 3, mpi_hosts[:1])
        line = _mpi_line(launch, sys.executable, "-c", FAILING_RANK_PROGRAM)
        code, _, err = lines.run_raw(line, 1, 1)
        assert code != 0, f"rank 1 exited with 3, {line} with 0: {err}"

    @requirement("LNC-103", capability="mpi")
    @pytest.mark.parametrize(
        ("num_ranks", "ranks_per_node", "n_hosts", "name"),
        [
            (0, 1, 1, "num_ranks"),
            (1, 0, 1, "ranks_per_node"),
            (1, 1, 0, "hosts"),
            (3, 1, 2, "num_ranks"),
        ],
    )
    def test_mpi_launch_refuses_bad_counts_and_no_hosts(
        self,
        launcher: Launcher,
        mpi_hosts: list[str],
        num_ranks: int,
        ranks_per_node: int,
        n_hosts: int,
        name: str,
    ) -> None:
        hosts = mpi_hosts[:1] * n_hosts
        call = f"mpi_launch({num_ranks}, {ranks_per_node}, {hosts})"
        try:
            launcher.mpi_launch(num_ranks, ranks_per_node, hosts)
        except ConfigError as error:
            assert name in str(error), f"{call}: the error does not name {name}: {error}"
        except Exception as error:
            pytest.fail(f"{call} raised {type(error).__name__}, not ConfigError: {error}")
        else:
            pytest.fail(f"{call} returned a launch")
