"""Print the README's card database example as an 80-column terminal shows it.

    python benchmarks/readme_cards_example.py

tests/test_readme_examples.py checks that the README shows exactly this.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from readme_command import print_example

ARGS = ["cards", "list", "--segment", "consumer", "--min-memory", "24", "--sort", "bf16", "--desc"]

if __name__ == "__main__":
    raise SystemExit(print_example(ARGS))
