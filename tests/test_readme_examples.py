"""The README's `advisor check` example is what the command prints on its recorded machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _example(heading: str, script: str) -> tuple[str, str]:
    """(what the README shows under ``heading``, what ``script`` prints now)."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index(heading) :]
    shown = section[section.index("```console\n") + len("```console\n") : section.index("```\n\n")]
    printed = subprocess.run(
        [sys.executable, str(REPO / script)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return shown, printed


def test_check_example_is_current() -> None:
    shown, printed = _example("## `advisor check`", "benchmarks/readme_check_example.py")
    assert shown == printed, "regenerate it: python benchmarks/readme_check_example.py"


def test_estimate_example_is_current() -> None:
    shown, printed = _example("## `advisor estimate`", "benchmarks/readme_estimate_example.py")
    assert shown == printed, "regenerate it: python benchmarks/readme_estimate_example.py"


def test_recommend_example_is_current_and_fits_80_columns() -> None:
    shown, printed = _example("## `advisor recommend`", "benchmarks/readme_recommend_example.py")
    assert shown == printed, "regenerate it: python benchmarks/readme_recommend_example.py"
    assert all(len(line) <= 80 for line in printed.splitlines()[1:]), printed
    assert "…" not in printed  # no cell cut
