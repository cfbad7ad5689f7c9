"""Which Python `advisor check` inspects when it is installed as a CLI (pipx, uv tool, its own venv):
the user's environment, found in a fixed order, and always said which rule chose it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from advisor.probe import discover
from advisor.probe.discover import NoSuchInterpreter, candidates, choose, torch_on_disk
from tests.conftest import Cli, one_error_line
from tests.machines import install_machine, load_machine


def env_prefix(root: Path, name: str, *, torch: str | None = None, lib: str = "lib") -> Path:
    """A venv or conda environment on disk: bin/python (a link to this interpreter), and torch's
    package with its dist-info in site-packages when ``torch`` is a version."""
    prefix = root / name
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin/python").symlink_to(sys.executable)
    if torch:
        site = prefix / lib / "python3.11/site-packages"
        (site / "torch").mkdir(parents=True)
        (site / "torch/__init__.py").write_text("")
        (site / f"torch-{torch}.dist-info").mkdir()
    return prefix


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No variable set, an empty PATH, and advisor running from its own isolated prefix."""
    for var in ("ADVISOR_PYTHON", "VIRTUAL_ENV", "CONDA_PREFIX"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "pipx/venvs/gpu-advisor"))
    return tmp_path


def test_the_order(machine: Path) -> None:
    venv = env_prefix(machine, "venv")
    conda = env_prefix(machine, "conda/envs/train")
    path_bin = env_prefix(machine, "usr")
    full = {
        "ADVISOR_PYTHON": str(venv / "bin/python"),
        "VIRTUAL_ENV": str(venv),
        "CONDA_PREFIX": str(conda),
        "PATH": str(path_bin / "bin"),
    }
    assert choose(str(conda / "bin/python"), full).chosen_by == "--python"
    assert choose(None, full).chosen_by == "$ADVISOR_PYTHON"
    del full["ADVISOR_PYTHON"]
    assert choose(None, full) == discover.Choice(str(venv / "bin/python"), "$VIRTUAL_ENV")
    del full["VIRTUAL_ENV"]
    assert choose(None, full) == discover.Choice(str(conda / "bin/python"), "$CONDA_PREFIX")
    del full["CONDA_PREFIX"]
    path_python = path_bin / "bin/python"
    assert choose(None, full) == discover.Choice(str(path_python), "python on PATH")
    (path_bin / "bin/python3").symlink_to(sys.executable)
    assert choose(None, full).chosen_by == "python3 on PATH"
    assert choose(None, {"PATH": str(machine / "nowhere")}) == discover.Choice(
        sys.executable, "advisor's own"
    )


def test_advisors_own_venv_is_passed_over(machine: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`source ~/.venvs/advisor/bin/activate && advisor check` checks the user's conda env, not ours."""
    own = env_prefix(machine, "advisor-venv")
    conda = env_prefix(machine, "conda")
    monkeypatch.setattr(sys, "prefix", str(own))
    chosen = choose(None, {"VIRTUAL_ENV": str(own), "CONDA_PREFIX": str(conda), "PATH": ""})
    assert chosen == discover.Choice(str(conda / "bin/python"), "$CONDA_PREFIX")


def test_a_stale_virtual_env_is_skipped(machine: Path) -> None:
    conda = env_prefix(machine, "conda")
    chosen = choose(None, {"VIRTUAL_ENV": str(machine / "deleted-venv"), "CONDA_PREFIX": str(conda)})
    assert chosen.chosen_by == "$CONDA_PREFIX"


def test_a_named_interpreter_that_does_not_exist_is_a_user_error(machine: Path) -> None:
    with pytest.raises(NoSuchInterpreter, match=r"--python /no/python: no such executable"):
        choose("/no/python", {})
    with pytest.raises(NoSuchInterpreter, match=r"\$ADVISOR_PYTHON=/no/python"):
        choose(None, {"ADVISOR_PYTHON": "/no/python"})


def test_other_environments_with_torch_are_found_on_disk(machine: Path) -> None:
    train = env_prefix(machine, "conda/envs/train", torch="2.5.1+cu124")
    rhel = env_prefix(machine, "conda/envs/rhel", torch="2.3.0", lib="lib64")
    empty = env_prefix(machine, "conda/envs/empty")
    home = machine / "home"
    (home / ".conda").mkdir(parents=True)
    (home / ".conda/environments.txt").write_text(f"{train}\n{rhel}\n\n{empty}\n")
    found = {c.executable: c.found_by for c in candidates({"PATH": ""}, home)}
    assert found[str(train / "bin/python")] == "conda environments.txt"
    assert torch_on_disk(str(train / "bin/python")) == (
        str(train / "lib/python3.11/site-packages/torch"),
        "2.5.1+cu124",
    )
    assert torch_on_disk(str(rhel / "bin/python")) == (
        str(rhel / "lib64/python3.11/site-packages/torch"),
        "2.3.0",
    )
    assert torch_on_disk(str(empty / "bin/python")) is None


def test_check_names_the_rule_and_points_at_the_environment_with_torch(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed with pipx on a GPU box, in a shell where the training env is not active: the
    preflight must not pass silently on advisor's own torch-less interpreter."""
    install_machine(load_machine("healthy_rtx3090") | {"torch": {"missing": True}}, tmp_path, monkeypatch)
    train = env_prefix(tmp_path, "miniconda3/envs/train", torch="2.5.1+cu124")
    home = tmp_path / "home"
    (home / ".conda").mkdir(parents=True)
    (home / ".conda/environments.txt").write_text(f"{train}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ADVISOR_PYTHON")
    bare = env_prefix(tmp_path, "usr")  # the system python3, without torch (the fake says so)
    (bare / "bin/python3").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", f"{bare / 'bin'}{os.pathsep}{os.environ['PATH']}")

    report = cli.json("check")["result"]
    target = report["snapshot"]["target"]
    assert target["chosen_by"] == "python3 on PATH"
    finding = next(f for f in report["findings"] if f["id"] == "torch-not-installed")
    assert finding["severity"] == "warn"  # GPUs and no torch: the preflight checked nothing
    assert f"has torch 2.5.1+cu124: {train / 'bin/python'} (conda environments.txt)" in finding["evidence"]
    assert (
        finding["fix"] == f"check the environment you train in: advisor check --python {train / 'bin/python'}"
    )
    assert "from python3 on PATH)" in cli("check").stdout


def test_bad_advisor_python_is_one_line(cli: Cli) -> None:
    line = one_error_line(cli("check", env={"ADVISOR_PYTHON": "/no/such/python"}))
    assert line == "advisor: error: $ADVISOR_PYTHON=/no/such/python: no such executable"
    envelope = json.loads(cli("check", "--json", env={"ADVISOR_PYTHON": "/no/such/python"}).stdout)
    assert envelope["error"]["message"] == "$ADVISOR_PYTHON=/no/such/python: no such executable"


def test_python_and_python3_of_one_environment_are_one_candidate(machine: Path) -> None:
    """An activated venv puts bin/python3 on PATH and names bin/python in $VIRTUAL_ENV: that is
    one environment, and must not be reported as "another environment that has torch"."""
    venv = env_prefix(machine, "venv", torch="2.5.1")
    (venv / "bin/python3").symlink_to(sys.executable)
    found = candidates({"VIRTUAL_ENV": str(venv), "PATH": str(venv / "bin")}, machine / "home")
    in_venv = [c for c in found if c.executable.startswith(str(venv))]
    assert [c.found_by for c in in_venv] == ["$VIRTUAL_ENV"]
    assert discover.same_environment(str(venv / "bin/python"), str(venv / "bin/python3"))
    assert not discover.same_environment(str(venv / "bin/python"), sys.executable)
