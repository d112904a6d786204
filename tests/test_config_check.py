"""``plait config check`` on the corpus of ``tests/configs``: each broken config gives
exactly the codes, at the paths, its ``# expect: CODE PATH`` lines name (``# path:
empty`` checks it with an empty ``PATH``); each good config passes, loads, and runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import plait
from plait import hookimpl
from plait.cli.main import main
from plait.config.check import check_config
from plait.config.config import read_config_file
from plait.errors import ConfigError, ImpossibleResourcesError, PlaitError
from plait.plugins import get_plugin_system

CONFIGS = Path(__file__).parent / "configs"
BROKEN = sorted((CONFIGS / "broken").iterdir())
GOOD = sorted((CONFIGS / "good").iterdir())
EXPECT = re.compile(r"^# expect: (PLT-\d{3})(?: (\S+))?$", re.MULTILINE)


def problems_of(path: Path) -> list[tuple[str, str]]:
    """``(code, path)`` of every problem ``plait config check`` finds in ``path``."""
    result = CliRunner().invoke(main, ["config", "check", "--json", str(path)])
    report = json.loads(result.output)
    assert result.exit_code == (0 if report["ok"] else 1), result.output
    return [(p["code"], p["path"]) for p in report["problems"]]


def test_the_corpus_has_at_least_forty_broken_configs() -> None:
    assert len(BROKEN) >= 40


@pytest.mark.parametrize("config", BROKEN, ids=lambda p: p.name)
def test_broken_config_gives_exactly_its_codes(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = config.read_text()
    expected = sorted((code, where or "") for code, where in EXPECT.findall(text))
    assert expected, f"{config.name} has no '# expect: CODE PATH' line"
    if "# path: empty" in text:
        monkeypatch.setenv("PATH", str(tmp_path))
    assert sorted(problems_of(config)) == expected


@pytest.mark.parametrize("config", GOOD, ids=lambda p: p.name)
def test_good_config_passes_the_check(config: Path) -> None:
    if "slurm" in read_config_file(config).__repr__() and shutil.which("sbatch") is None:
        pytest.skip("needs Slurm's commands on PATH (tests/infra/slurm.sh installs them)")
    assert problems_of(config) == []


def test_the_laptop_config_loads_and_runs_from_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    @plait.python_app
    def square(x: int) -> int:
        return x * x

    with plait.load(CONFIGS / "good" / "laptop.toml") as kernel:
        assert sorted(kernel.executors) == ["htex", "threads"]
        assert [f.result(60) for f in map(square, range(4))] == [0, 1, 4, 9]


def test_a_yaml_file_is_a_config_like_its_toml_twin(tmp_path: Path) -> None:
    toml = tmp_path / "plait.toml"
    toml.write_text('retries = 2\n[[executors]]\nkind = "threads"\nmax_threads = 3\n')
    yaml = tmp_path / "plait.yaml"
    yaml.write_text("retries: 2\nexecutors:\n  - kind: threads\n    max_threads: 3\n")
    from_toml, from_yaml = plait.Config.from_file(toml), plait.Config.from_file(yaml)
    assert from_yaml.retries == from_toml.retries == 2
    assert [e.max_threads for e in from_yaml.executors] == [3]  # type: ignore[attr-defined]


def test_check_reports_everything_in_text_and_exits_one() -> None:
    config = CONFIGS / "broken" / "everything-wrong-at-once.toml"
    result = CliRunner().invoke(main, ["config", "check", str(config)])
    assert result.exit_code == 1
    assert "9 problems" in result.output
    assert "retires: [PLT-115]" in result.output and "did you mean 'retries'" in result.output
    assert "executors[0].provider.kind: [PLT-112]" in result.output


def test_check_of_a_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["config", "check", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1
    assert "[PLT-110]" in result.output and "does not exist" in result.output


def test_show_prints_every_default(tmp_path: Path) -> None:
    config = tmp_path / "plait.toml"
    config.write_text('[[executors]]\nkind = "htex"\nprovider = {kind = "local", max_blocks = 2}\n')
    result = CliRunner().invoke(main, ["config", "show", "--json", str(config)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    htex = shown["executors"][0]
    assert htex["kind"] == "htex" and htex["heartbeat_period"] == 2.0
    assert htex["provider"] == {**htex["provider"], "kind": "local", "max_blocks": 2}
    assert htex["provider"]["launcher"] == {"kind": "single-node"}
    assert shown["retries"] == 0 and shown["error_reporters"] == ["console"]
    # what show prints is itself a valid configuration
    again = tmp_path / "shown.json.yaml"
    again.write_text(result.output)
    assert check_config(read_config_file(again)).ok


def test_show_refuses_a_broken_file() -> None:
    config = CONFIGS / "broken" / "retries-negative.toml"
    result = CliRunner().invoke(main, ["config", "show", str(config)])
    assert result.exit_code == 1
    assert "plait config check" in result.output


def test_a_worker_python_of_another_plait_version_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker Python really runs; this side says it has another plait."""
    names = ("python", "python3", "python{}.{}".format(*sys.version_info[:2]))
    bin_dir = Path(sys.executable).parent
    python = next(
        bin_dir / n for n in names if (bin_dir / n).exists() and n != Path(sys.executable).name
    )
    monkeypatch.setattr(plait, "__version__", "99.0")
    data = {"executors": [{"kind": "htex", "worker_python": str(python)}]}
    [problem] = check_config(data).problems
    assert problem.path == "executors[0].worker_python"
    assert problem.error.code == "PLT-118"
    assert "99.0" in problem.error.message


class NodeBudget:
    """A third-party check: blocks of more than 8 nodes are refused."""

    @hookimpl
    def plait_check_component(self, component: Any, path: str) -> list[PlaitError] | None:
        nodes = getattr(component, "nodes_per_block", None)
        if nodes is not None and nodes > 8:
            return [
                ImpossibleResourcesError(
                    f"{nodes} nodes per block exceeds the 8 of this site",
                    option="nodes_per_block",
                )
            ]
        return None


def test_plugins_add_checks_through_the_hook() -> None:
    system = get_plugin_system()
    budget = NodeBudget()
    system.pm.register(budget)
    try:
        provider = {"kind": "psij", "executor": "local", "nodes_per_block": 16}
        result = check_config({"executors": [{"kind": "htex", "provider": provider}]})
    finally:
        system.pm.unregister(budget)
    assert [(p.error.code, p.path) for p in result.problems] == [
        ("PLT-116", "executors[0].provider.nodes_per_block")
    ]
    assert result.config is None


def test_a_good_dict_gives_the_config_it_describes() -> None:
    result = check_config({"retries": 3, "executors": [{"kind": "threads", "label": "t"}]})
    assert result.ok and result.config is not None
    assert result.config.retries == 3 and result.config.executors[0].label == "t"


def test_plait_load_of_a_broken_file_raises_the_first_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="retires"):
        plait.load(CONFIGS / "broken" / "unknown-top-level-key.toml")
    assert not os.path.exists(tmp_path / "runinfo")
