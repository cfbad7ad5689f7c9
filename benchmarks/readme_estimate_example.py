"""Print the README's `advisor estimate` example as a user sees it (no `advisor bench` results).

    python benchmarks/readme_estimate_example.py

tests/test_readme_examples.py checks that the README shows exactly this.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advisor.cli import app

ARGS = ["estimate", "llama-2-7b", "--task", "lora", "--grad-checkpointing", "--seq", "512", "--card", "3090"]
COLUMNS = "80"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "COLUMNS": COLUMNS,
            "NO_COLOR": "1",
            "ADVISOR_DATA_DIR": str(Path(tmp) / "data"),  # no bench calibration from this machine
            "ADVISOR_CONFIG_DIR": str(Path(tmp) / "config"),
        }
        result = CliRunner().invoke(app, ARGS, env=env)
    print(f"$ advisor {' '.join(ARGS[:])}")
    print("\n".join(line.rstrip() for line in result.output.splitlines()))
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
