"""The README's `advisor check` example is what the command prints on its recorded machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_check_example_is_current() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## `advisor check`") :]
    shown = section[section.index("```console\n") + len("```console\n") : section.index("```\n\n")]
    printed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/readme_check_example.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert shown == printed, "regenerate it: python benchmarks/readme_check_example.py"


def test_estimate_example_is_current() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## `advisor estimate`") :]
    shown = section[section.index("```console\n") + len("```console\n") : section.index("```\n\n")]
    printed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/readme_estimate_example.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert shown == printed, "regenerate it: python benchmarks/readme_estimate_example.py"
