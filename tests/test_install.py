"""The wheel carries data/: installed in a fresh virtualenv, run from another folder, it works."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_in_a_fresh_virtualenv_from_another_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        timeout=240,
    )
    (wheel,) = wheels.glob("gpu_advisor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "advisor/data/cards.yaml" in names
    assert "advisor/data/compat.yaml" in names
    assert "advisor/probe/worker/target_worker.py" in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = subprocess.run(
        [str(env_dir / "bin" / "advisor"), "cards", "list", "--json"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    cards = json.loads(listed.stdout)["result"]["cards"]
    assert len(cards) >= 30
    assert all(card["sources"] for card in cards)
    names_listed = {card["name"] for card in cards}
    assert {"Tesla V100 SXM2 16GB", "GeForce RTX 3090", "NVIDIA Titan RTX"} <= names_listed
    # python -m advisor works too, and torch was not pulled in by the install.
    version = subprocess.run(
        [str(python), "-m", "advisor", "--version"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert version.stdout.startswith("advisor ")
    no_torch = subprocess.run([str(python), "-c", "import torch"], capture_output=True)
    assert no_torch.returncode != 0
    # The main job runs from the wheel too: no GPU and no torch here is a report, not a failure.
    checked = subprocess.run(
        [str(env_dir / "bin" / "advisor"), "check", "--json"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["result"]["snapshot"]["target"]["status"] == "ok"
