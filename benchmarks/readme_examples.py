"""Regenerate every example output the README shows, in place: one command, no hand edits.

    python benchmarks/readme_examples.py           # rewrite README.md's example blocks
    python benchmarks/readme_examples.py --check   # exit 1 and name the stale ones

Each example is the ```console block under its heading; the script that prints it is named here
and nowhere else (tests/test_readme_examples.py compares the same pairs).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
EXAMPLES = {
    "## `advisor check`": "benchmarks/readme_check_example.py",
    "## `advisor estimate`": "benchmarks/readme_estimate_example.py",
    "## `advisor recommend`": "benchmarks/readme_recommend_example.py",
    "## The card database": "benchmarks/readme_cards_example.py",
}
OPEN, CLOSE = "```console\n", "```\n\n"


def block(text: str, heading: str) -> tuple[int, int]:
    """(start, end) of the console block under ``heading`` in ``text``."""
    at = text.index(heading)
    start = text.index(OPEN, at) + len(OPEN)
    return start, text.index(CLOSE, start)


def printed(script: str) -> str:
    return subprocess.run(
        [sys.executable, str(REPO / script)], capture_output=True, text=True, timeout=300, check=True
    ).stdout


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    stale = []
    for heading, script in EXAMPLES.items():
        start, end = block(text, heading)
        now = printed(script)
        if text[start:end] != now:
            stale.append(heading)
            text = text[:start] + now + text[end:]
    if "--check" in argv:
        for heading in stale:
            print(f"stale: {heading} (run python benchmarks/readme_examples.py)")
        return 1 if stale else 0
    if stale:
        tmp = README.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(README)
    print(f"README.md: {len(stale)} of {len(EXAMPLES)} examples regenerated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
