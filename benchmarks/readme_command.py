"""Print one advisor command as the README shows it: the `$ advisor ...` line, then its output at a
fixed terminal width, with no bench calibration or config from this machine.

Used by the readme_*_example.py scripts that benchmarks/readme_examples.py runs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advisor.cli import app


def print_example(args: list[str], columns: int = 80) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "COLUMNS": str(columns),
            "NO_COLOR": "1",
            "ADVISOR_DATA_DIR": str(Path(tmp) / "data"),  # no bench calibration from this machine
            "ADVISOR_CONFIG_DIR": str(Path(tmp) / "config"),
        }
        result = CliRunner().invoke(app, args, env=env)
    print(f"$ advisor {' '.join(args)}")
    print("\n".join(line.rstrip() for line in result.output.splitlines()))
    return result.exit_code
