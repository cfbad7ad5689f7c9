"""advisor as a real process: the console entry point, the prestarted worker, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.machines import TORCH_SITE, load_machine


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_check_in_a_real_process_uses_the_prestarted_worker(tmp_path: Path) -> None:
    config = tmp_path / "torch.json"
    config.write_text(json.dumps(load_machine("healthy_rtx3090")["torch"]))
    (tmp_path / "cuda").mkdir()  # no CUDA toolkit: the machine's own nvcc stays out of the test
    env = {
        "PYTHONPATH": str(TORCH_SITE),
        "ADVISOR_FAKE_TORCH": str(config),
        "ADVISOR_CONFIG_DIR": str(tmp_path),
        "CUDA_HOME": str(tmp_path / "cuda"),
        "ADVISOR_PYTHON": sys.executable,
    }
    done = run("check", "--json", env=env)
    # This machine has no NVML while (the fake) torch runs kernels: the health readings are
    # missing, which is a warning, not a failure.
    assert done.returncode == 0, done.stdout[-2000:]
    found = {f["id"]: f["severity"] for f in json.loads(done.stdout)["result"]["findings"]}
    assert found["nvml-unavailable"] == "warn"
    target = json.loads(done.stdout)["result"]["snapshot"]["target"]
    assert target["status"] == "ok"
    assert target["torch"]["version"] == "2.4.1+cu121"


def test_usage_errors_exit_2_with_one_line() -> None:
    done = run("check", "--python", "/nonexistent/python")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "advisor: error: --python /nonexistent/python: no such executable"
    ]
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["check", "--frobnicate"], "advisor: error: No such option: --frobnicate (see advisor --help)"),
        (["estimate", "-7B"], "advisor: error: No such option: -7 (see advisor --help)"),
        (
            ["cards", "list", "--sort"],
            "advisor: error: Option '--sort' requires an argument. (see advisor --help)",
        ),
    ],
)
def test_usage_errors_are_one_line(args: list[str], line: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [line]


def test_no_arguments_shows_help() -> None:
    done = run()
    assert done.returncode == 0
    assert "Usage" in done.stdout


def test_help_teaches_exit_codes() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert "Exit codes: 0" in done.stdout
    assert "check" in done.stdout and "cards" in done.stdout


@pytest.mark.parametrize("args", [["rules", "--json"], ["cards", "list", "--json"]])
def test_json_has_no_colour_even_on_a_forced_terminal(args: list[str]) -> None:
    done = run(*args, env={"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert done.returncode == 0
    assert "\x1b[" not in done.stdout
    json.loads(done.stdout)


def test_usage_errors_in_json_mode_are_json() -> None:
    done = run("check", "--json", "--frobnicate")
    assert done.returncode == 2
    body = json.loads(done.stdout)
    assert body["command"] == "check"
    assert body["error"]["message"].startswith("No such option: --frobnicate")
