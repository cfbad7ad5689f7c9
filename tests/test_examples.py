"""Every example advisor shows (in --help and in the README) runs: a usage error there would
teach the wrong command. Exit 0 or 1 (a finding, or no GPU to bench here) are both answers."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from advisor.cli import app
from tests.conftest import Cli

README = Path(__file__).resolve().parent.parent / "README.md"
# a fragment that needs something only the reader has: a placeholder, a file, a shell pipeline
NOT_RUNNABLE = re.compile(r"[A-Z]{2,}|[<>|&]|box\.json|report\.txt|\.\.\.|torchrun")


def _help_texts() -> dict[str, str]:
    root = typer.main.get_command(app)
    texts: dict[str, str] = {}

    def walk(cmd: Any, path: str) -> None:
        texts[path] = cmd.help or ""
        for name, sub in getattr(cmd, "commands", {}).items():  # typer carries its own click
            if True:
                walk(sub, f"{path} {name}")

    walk(root, "advisor")
    return texts


def _wants_a_value(words: list[str]) -> bool:
    """The fragment ends in an option that takes a value (prose: "`advisor estimate --card`")."""
    cmd: Any = typer.main.get_command(app)
    for word in words[1:]:
        cmd = getattr(cmd, "commands", {}).get(word, cmd)
    last = words[-1]
    return any(last in p.opts and not p.is_flag for p in getattr(cmd, "params", []))


def _examples(text: str) -> list[str]:
    """`advisor ...` in backticks with an argument (not a bare name like `advisor bench`, not a
    fragment ending in an option), and every `$ advisor ...` line."""
    quoted = re.findall(r"`(advisor [a-z][^`]*)`", text.replace("\n", " "))
    found = [q for q in quoted if len(q.split()) >= 3 and not _wants_a_value(q.split())]
    found += [m.strip() for m in re.findall(r"^\$ (advisor [^#\n]*)", text, re.M)]
    return [" ".join(e.split()) for e in found if not NOT_RUNNABLE.search(e.removeprefix("advisor"))]


HELP_EXAMPLES = sorted({e for text in _help_texts().values() for e in _examples(text)})
README_EXAMPLES = sorted(set(_examples(README.read_text())) - set(HELP_EXAMPLES))


def test_there_are_examples_to_run() -> None:
    assert len(HELP_EXAMPLES) >= 6, HELP_EXAMPLES
    assert len(README_EXAMPLES) >= 5, README_EXAMPLES
    commands = {e.split()[1] for e in HELP_EXAMPLES + README_EXAMPLES}
    assert {"check", "estimate", "recommend", "cards", "bench"} <= commands


@pytest.mark.parametrize("example", HELP_EXAMPLES + README_EXAMPLES)
def test_example_runs(example: str, cli: Cli) -> None:
    result = cli(*shlex.split(example)[1:])
    assert "Traceback" not in result.output
    assert "error" not in result.output.split("\n", 1)[0].lower() or result.exit_code == 1, result.output
    assert result.exit_code in (0, 1), (example, result.output)
    if example.split()[1] not in ("check", "bench", "cluster"):  # planning never fails a check
        assert result.exit_code == 0, (example, result.output)
