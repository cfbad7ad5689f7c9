"""Print the README's `advisor recommend` example as a user sees it in an 80-column terminal.

    python benchmarks/readme_recommend_example.py

tests/test_readme_examples.py checks that the README shows exactly this, that no line is wider
than 80 columns and that no cell is cut.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advisor.cli import app

ARGS = ["recommend", "llama-3.1-8b", "--task", "qlora", "--seq", "2048", "--budget", "800"]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "COLUMNS": "80",
            "NO_COLOR": "1",
            "ADVISOR_DATA_DIR": str(Path(tmp) / "data"),  # no bench calibration from this machine
            "ADVISOR_CONFIG_DIR": str(Path(tmp) / "config"),
        }
        result = CliRunner().invoke(app, [*ARGS, "--no-here"], env=env)
    print(f"$ advisor {' '.join(ARGS)}")
    print("\n".join(line.rstrip() for line in result.output.splitlines()))
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
