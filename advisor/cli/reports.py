"""`advisor explain`: the diagnosis of `check`, from what users paste."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from advisor.cli.app import CardsOpt, JsonOpt, _database, _emit, _run, app
from advisor.errors import AdvisorError

MAX_TEXT = 2_000_000  # characters: an issue body, not a log archive


def _read(source: str) -> str:
    try:
        if source == "-":
            text = sys.stdin.read(MAX_TEXT + 1)
        else:
            path = Path(source)
            if path.is_dir():
                raise AdvisorError(f"{source}: is a folder, not a text file")
            with path.open(encoding="utf-8", errors="replace") as f:
                text = f.read(MAX_TEXT + 1)
    except FileNotFoundError:
        raise AdvisorError(f"{source}: no such file") from None
    except OSError as exc:
        raise AdvisorError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if len(text) > MAX_TEXT:
        raise AdvisorError(f"{source}: over {MAX_TEXT:,} characters; paste the report, not a whole log")
    return text


@app.command(short_help="Diagnose a pasted report (collect_env, nvidia-smi, errors).")
def explain(
    source: Annotated[
        str,
        typer.Argument(metavar="FILE", help="The pasted text: an issue body, a chat message; - for stdin."),
    ],
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show the lines no reader understood.")
    ] = False,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Diagnose what users paste, when the machine is not at hand.

    Reads, anywhere in the text (prose around the blocks is fine): the output of
    `python -m torch.utils.collect_env` (any torch version's layout), `nvidia-smi` (the table,
    -L), `nvcc --version`, `pip list` / `pip freeze` / `conda list`, and the known error and
    warning texts (driver too old, no kernel image, sm_XY not compatible, Error 802/804/999,
    undefined symbol, Torch not compiled with CUDA enabled). What the text does not show is
    unknown, not absent: the rules that need it say "not checked" and which command's output
    would settle it.

    Exit code 1 when a failure is found, 0 when none, 2 when the text holds nothing to read.
    Example: `pbpaste | advisor explain -`.
    """
    from advisor.knowledge.compat import load_compat
    from advisor.paste.report import ExplainReport, explain_text

    def compute() -> ExplainReport:
        return explain_text(_read(source), load_compat(), _database(cards).cards)

    report = _run("explain", as_json, compute)
    _emit("explain", as_json, report, "advisor.render.explain:render_explain", verbose)
    raise typer.Exit(report.exit_code)
