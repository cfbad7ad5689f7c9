"""The README's `advisor check` example is what the command prints on its recorded machine."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _example(heading: str, script: str) -> tuple[str, str]:
    """(what the README shows under ``heading``, what ``script`` prints now)."""
    from benchmarks.readme_examples import EXAMPLES, block, printed

    assert EXAMPLES[heading] == script
    readme = (REPO / "README.md").read_text()
    start, end = block(readme, heading)
    return readme[start:end], printed(script)


def test_check_example_is_current() -> None:
    shown, printed = _example("## `advisor check`", "benchmarks/readme_check_example.py")
    assert shown == printed, "regenerate: python benchmarks/readme_examples.py"


def test_estimate_example_is_current() -> None:
    shown, printed = _example("## `advisor estimate`", "benchmarks/readme_estimate_example.py")
    assert shown == printed, "regenerate: python benchmarks/readme_examples.py"


def test_recommend_example_is_current_and_fits_80_columns() -> None:
    shown, printed = _example("## `advisor recommend`", "benchmarks/readme_recommend_example.py")
    assert shown == printed, "regenerate: python benchmarks/readme_examples.py"
    assert all(len(line) <= 80 for line in printed.splitlines()[1:]), printed
    assert "…" not in printed  # no cell cut
