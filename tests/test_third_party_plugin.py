"""The third-party path, end to end (issue 4, deliverable 7).

``examples/third-party-plugin`` is a plugin distribution written the way an outside
author would write it. Here it is built and installed, without editable installs and
next to a non-editable ``plait`` built from ``core/``, into a fresh virtual
environment. In that environment a workflow uses its executor by name only, and the
conformance kit runs on both of its components and must report no failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "core"
EXAMPLE = REPO / "examples" / "third-party-plugin"
INSTALL_TIMEOUT = 900.0
RUN_TIMEOUT = 300.0

pytestmark = [pytest.mark.slow]
if importlib.util.find_spec("pytest_timeout") is not None:  # CI runs with --timeout=300
    pytestmark.append(pytest.mark.timeout(INSTALL_TIMEOUT + 2 * RUN_TIMEOUT))


class Env:
    """A fresh virtual environment with plait and the example plugin installed."""

    def __init__(self, root: Path, python: Path, example: Path) -> None:
        self.root = root
        self.python = python
        self.example = example
        self.environ = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PLAIT_", "PYTEST_", "PYTHON", "VIRTUAL_ENV", "COV_"))
        }
        self.environ["PYTHONDONTWRITEBYTECODE"] = "1"

    def run(self, *args: str, cwd: Path, timeout: float = RUN_TIMEOUT) -> str:
        """Run the environment's python with ``args``; return stdout, fail on error."""
        proc = subprocess.run(
            [str(self.python), *args],
            cwd=cwd,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"`python {' '.join(args)}` exited with {proc.returncode}\n"
                f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}",
                pytrace=False,
            )
        return proc.stdout


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    root = tmp_path_factory.mktemp("third-party")
    # Build from a copy, so the run leaves nothing in the source tree.
    example = root / "plait-example-thirdparty"
    shutil.copytree(
        EXAMPLE, example, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    )
    venv_dir = root / "venv"
    created = subprocess.run(
        [sys.executable, "-m", "venv", str(venv_dir)], capture_output=True, text=True
    )
    bindir = "Scripts" if sys.platform == "win32" else "bin"
    python = venv_dir / bindir / ("python.exe" if sys.platform == "win32" else "python")
    if created.returncode != 0 or not python.exists():
        pytest.skip(
            f"cannot create a virtual environment with {sys.executable} -m venv "
            f"(is the venv/ensurepip module installed?): {created.stderr.strip()}"
        )
    environment = Env(root, python, example)
    environment.run(
        "-m",
        "pip",
        "install",
        "--quiet",
        str(CORE),
        f"{example}[test]",
        cwd=root,
        timeout=INSTALL_TIMEOUT,
    )
    return environment


APPS = '''
"""The workflow's apps: a module of its own, so worker processes can import them."""

import os

import plait


class WorkflowError(Exception):
    """Raised by a task on purpose."""


@plait.python_app
def square(x):
    return x * x


@plait.python_app
def total(values):
    return sum(values)


@plait.python_app
def where():
    return {"pid": os.getpid(), "parent": os.getppid()}


@plait.python_app
def fail(message):
    raise WorkflowError(message)


@plait.bash_app
def greet(name, stdout=None):
    return f"echo hello {name}"
'''

WORKFLOW = '''
"""Uses the example plugin's executor by name; never imports the plugin."""

import json
import os
from pathlib import Path

import plait

import apps

config = plait.Config(
    executors=[{"kind": "example-process", "label": "ext"}],
    run_dir=str(Path(__file__).parent / "runinfo"),
)
with plait.load(config) as kernel:
    squares = [apps.square(i) for i in range(10)]
    places = [apps.where() for _ in range(4)]
    failed = apps.fail("boom from a worker")
    greeting = apps.greet("plugin", stdout=str(Path(__file__).parent / "greet.out"))
    outcome = {
        "executors": {k: type(v).__module__ + "." + type(v).__qualname__
                      for k, v in kernel.executors.items()},
        "total": apps.total(squares).result(),
        "places": [f.result() for f in places],
        "error_type": type(failed.exception()).__module__ + "."
                      + type(failed.exception()).__qualname__,
        "error_message": str(failed.exception()),
        "greeting_exit": greeting.result(),
    }
outcome["greeting"] = (Path(__file__).parent / "greet.out").read_text()
outcome["pid"] = os.getpid()
(Path(__file__).parent / "outcome.json").write_text(json.dumps(outcome))
'''


def test_workflow_uses_the_plugin_executor_by_name(env: Env) -> None:
    work = env.root / "workflow"
    work.mkdir()
    (work / "apps.py").write_text(textwrap.dedent(APPS))
    (work / "workflow.py").write_text(textwrap.dedent(WORKFLOW))
    env.run("workflow.py", cwd=work)
    out: dict[str, Any] = json.loads((work / "outcome.json").read_text())
    assert out["executors"] == {"ext": "plait_example_thirdparty.executor.ProcessExecutor"}
    assert out["total"] == sum(i * i for i in range(10))
    for place in out["places"]:
        assert place["pid"] != out["pid"], "a task ran in the workflow's own process"
        assert place["parent"] == out["pid"], "a task ran in a process we did not start"
    assert out["error_type"] == "apps.WorkflowError"
    assert out["error_message"] == "boom from a worker"
    assert out["greeting_exit"] == 0
    assert out["greeting"] == "hello plugin\n"


def test_conformance_kit_reports_no_failure(env: Env) -> None:
    report_path = env.root / "report.json"
    env.run(
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        str(env.example / "tests"),
        "--plait-conformance-report",
        str(report_path),
        cwd=env.example,
    )
    report = json.loads(report_path.read_text())
    assert report["kit_version"]
    components = report["components"]
    kinds = {name: comp["kind"] for name, comp in components.items()}
    assert kinds == {
        "plait_example_thirdparty.executor.ProcessExecutor": "executor",
        "plait_example_thirdparty.serializer.JsonSerializer": "serializer",
    }
    failures = [
        f"{name} {req_id}: {req.get('reason') or req['tests']}"
        for name, comp in components.items()
        for req_id, req in comp["requirements"].items()
        if req["status"] == "fail"
    ]
    assert failures == []
    executor = components["plait_example_thirdparty.executor.ProcessExecutor"]["requirements"]
    assert executor["EXE-001"]["status"] == "pass"  # lifecycle: nothing left behind
    assert executor["EXE-004"]["status"] == "pass"  # shutdown with tasks in flight
    assert executor["EXE-101"]["status"] == "pass"  # declared capability: cancel
    assert executor["EXE-102"]["status"] == "skip"  # undeclared: resource_spec
    assert "resource_spec" in executor["EXE-102"]["reason"]
