"""Shared fixtures: an isolated user config, an in-process CLI with a fixed width."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from advisor.cli import app

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No test may read the developer's own ~/.config/advisor or saved bench results."""
    base = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("ADVISOR_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(base / "data"))
    monkeypatch.delenv("ADVISOR_CARDS", raising=False)
    # The Python to check is this one (real or fake torch), whatever python3 is on the PATH of the
    # machine running the tests; the tests of discovery itself unset it.
    monkeypatch.setenv("ADVISOR_PYTHON", sys.executable)
    yield


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1", **(env or {})})

    def json(self, *args: str, code: int = 0) -> dict[str, Any]:
        result = self(*args, "--json")
        assert result.exit_code == code, result.output
        assert "\x1b[" not in result.stdout
        return json.loads(result.stdout)


@pytest.fixture
def cli() -> Cli:
    return Cli()


def fix_text(finding: dict[str, Any]) -> str:
    """A finding's fix as the reader sees it (words, then the command), from its JSON."""
    from advisor.compat.findings import Finding

    return Finding.model_validate(finding).full_fix()


def assert_fits(output: str, width: int) -> None:
    """A screen for an ``width``-column terminal: no line longer (a command line excepted: it is
    never wrapped, so that it pastes whole), no figure cut with "…", no trailing padding."""
    for line in output.splitlines():
        assert line == line.rstrip(), repr(line)
        assert "…" not in line, line
        if not line.lstrip().startswith("$ "):
            assert len(line) <= width, f"{len(line)} columns: {line}"


def one_error_line(result: Result) -> str:
    """The CLI's user-error contract: exit 2, exactly one line, no traceback."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    assert lines[0].startswith("advisor: error: ")
    return lines[0]
