"""Print the README's `advisor estimate` example as a user sees it (no `advisor bench` results).

    python benchmarks/readme_estimate_example.py

tests/test_readme_examples.py checks that the README shows exactly this.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from readme_command import print_example

ARGS = ["estimate", "llama-2-7b", "--task", "lora", "--grad-checkpointing", "--seq", "512", "--card", "3090"]

if __name__ == "__main__":
    raise SystemExit(print_example(ARGS))
