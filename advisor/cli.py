"""The command line: parse, call, render. Thin on purpose; the work lives in the layers below.

Exit codes: 0 nothing failed; 1 a check found a failure; 2 usage or input error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from advisor import __version__
from advisor.errors import AdvisorError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from advisor.knowledge.cards import CardDatabase

EXIT_CODES_HELP = "Exit codes: 0 = nothing failed, 1 = a check found a failure, 2 = usage or input error."

app = typer.Typer(
    name="advisor",
    help=(
        "GPU hardware advisor for deep learning: what is in this machine, what is wrong with it "
        "and how to fix it, and which GPU a job needs.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
cards_app = typer.Typer(
    help="The GPU card database: specs with their sources.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(cards_app, name="cards")

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (one envelope, no colour) instead of text.")
]
CardsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--cards",
        help="Your own card YAML: adds cards, or overrides fields of built-in ones (e.g. prices). "
        "Repeatable. <config dir>/cards.yaml is read too.",
        envvar="ADVISOR_CARDS",
        dir_okay=False,
    ),
]

T = TypeVar("T")


def _fail(command: str, message: str, as_json: bool) -> typer.Exit:
    if as_json:
        from advisor.render.jsonout import envelope

        typer.echo(envelope(command, error=message))
    else:
        typer.echo(f"advisor: error: {message}", err=True)
    return typer.Exit(2)


def _run(command: str, as_json: bool, compute: Callable[[], T]) -> T:
    """Run the pure part of a command; a user error becomes one line and exit code 2."""
    try:
        return compute()
    except AdvisorError as exc:
        raise _fail(command, str(exc), as_json) from None


def _emit(command: str, as_json: bool, result: BaseModel, render: Callable[[], None]) -> None:
    if as_json:
        from advisor.render.jsonout import envelope

        typer.echo(envelope(command, result))
    else:
        render()


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"advisor {__version__} (gpu-advisor)")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Show the version and exit.",
            is_eager=True,
            callback=_version_callback,
        ),
    ] = False,
) -> None:
    """GPU hardware advisor for deep learning."""


def _database(cards: list[Path] | None) -> CardDatabase:
    from advisor.knowledge.cards import load_cards

    return load_cards(tuple(cards or ()))


@cards_app.command("list")
def cards_list(
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            "-s",
            help="Sort by a figure: memory_gib, memory_bandwidth_gbs, fp32_tflops, "
            "fp16_tensor_tflops, bf16_tensor_tflops, tdp_w, release_year, launch_price_usd, "
            "... (any number field; also name, architecture, segment).",
        ),
    ] = "release_year",
    descending: Annotated[bool, typer.Option("--desc", help="Largest first.")] = False,
    segment: Annotated[
        str | None, typer.Option(help="Only consumer, workstation or datacenter cards.")
    ] = None,
    arch: Annotated[
        str | None, typer.Option("--arch", help="Only one architecture, e.g. ampere, hopper.")
    ] = None,
    min_memory: Annotated[
        float | None, typer.Option("--min-memory", help="Only cards with at least this many GB.")
    ] = None,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the known GPUs with their key figures.

    Examples: `advisor cards list --sort bf16_tensor_tflops --desc`,
    `advisor cards list --segment consumer --min-memory 24`.
    """
    from advisor.knowledge.catalog import CardListResult, select_cards

    def compute() -> CardListResult:
        db = _database(cards)
        return select_cards(
            db, sort=sort, descending=descending, segment=segment, arch=arch, min_memory=min_memory
        )

    result = _run("cards list", as_json, compute)

    def render() -> None:
        from advisor.render.cards import render_card_table
        from advisor.render.console import make_console

        render_card_table(make_console(), result.cards, result.files)

    _emit("cards list", as_json, result, render)


@cards_app.command("show")
def cards_show(
    name: Annotated[str, typer.Argument(help='A card, loosely: "3090", "v100 sxm2 32", "h100 pcie".')],
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every figure of one card, with its sources."""
    from advisor.knowledge.match import find_card

    card = _run("cards show", as_json, lambda: find_card(name, _database(cards).cards))

    def render() -> None:
        from advisor.render.cards import render_card_sheet
        from advisor.render.console import make_console

        render_card_sheet(make_console(), card)

    _emit("cards show", as_json, card, render)


PythonOpt = Annotated[
    str | None,
    typer.Option(
        "--python",
        help="The interpreter whose PyTorch to check (default: the one running advisor). advisor "
        "runs it in a subprocess and never imports torch itself.",
    ),
]
NoPythonOpt = Annotated[
    bool, typer.Option("--no-python", help="Skip the framework probe (fast: NVML and host only).")
]
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", help="Seconds to wait for the framework probe before calling it hung."),
]


def _interpreter(python: str | None) -> str:
    from advisor.probe.spawn import resolve_interpreter

    found = resolve_interpreter(python)
    if found is None:
        raise AdvisorError(f"--python {python}: no such executable")
    return found


def _timeout(value: float) -> float:
    if not value > 0 or value > 3600:
        raise AdvisorError(f"--timeout must be between 0 and 3600 seconds, got {value:g}")
    return value


@app.command()
def probe(
    python: PythonOpt = None,
    no_python: NoPythonOpt = False,
    timeout: TimeoutOpt = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Record what is in this machine: GPUs (NVML), driver, host, and the target Python's ML stack.

    `advisor probe --json > box.json` saves a snapshot; `advisor check --snapshot box.json`
    diagnoses it on any machine.
    """
    from advisor.probe.collect import take_snapshot

    interpreter = _run("probe", as_json, lambda: _interpreter(python))
    limit = _run("probe", as_json, lambda: _timeout(timeout))
    snap = take_snapshot(interpreter, timeout_s=limit, probe_python=not no_python)

    def render() -> None:
        from advisor.render.check import render_snapshot
        from advisor.render.console import make_console

        render_snapshot(make_console(), snap)

    _emit("probe", as_json, snap, render)


@app.command()
def check(
    python: PythonOpt = None,
    no_python: NoPythonOpt = False,
    timeout: TimeoutOpt = 60.0,
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            help="Diagnose a recorded snapshot (advisor probe --json) instead of this machine.",
            dir_okay=False,
        ),
    ] = None,
    require_gpu: Annotated[
        bool, typer.Option("--require-gpu", help="Fail (exit 1) when no NVIDIA GPU is usable.")
    ] = False,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Diagnose this machine: driver, CUDA, PyTorch build, GPU health; each finding with its fix.

    Exit code 0 when nothing failed, 1 when a finding failed (so `advisor check && python
    train.py` works as a preflight), 2 on bad input.
    """
    from advisor.compat.engine import CheckReport, diagnose
    from advisor.knowledge.compat import load_compat

    def compute() -> CheckReport:
        # Knowledge and renderers load while the (prestarted) worker is still importing torch.
        cards_db, compat = _database(cards), load_compat()
        if not as_json:
            import advisor.render.check  # noqa: F401
        if snapshot is not None:
            from advisor.snapshot_file import load_snapshot

            snap = load_snapshot(snapshot)
        else:
            from advisor.probe.collect import take_snapshot

            snap = take_snapshot(
                _interpreter(python), timeout_s=_timeout(timeout), probe_python=not no_python
            )
        return diagnose(snap, compat, cards_db.cards, require_gpu=require_gpu)

    report = _run("check", as_json, compute)

    def render() -> None:
        from advisor.render.check import render_check
        from advisor.render.console import make_console

        render_check(make_console(), report)

    _emit("check", as_json, report, render)
    raise typer.Exit(report.exit_code)


@app.command()
def rules(as_json: JsonOpt = False) -> None:
    """List the diagnosis rules `advisor check` runs."""
    from pydantic import RootModel

    from advisor.compat.engine import RuleInfo, rule_list

    listed = rule_list()

    def render() -> None:
        from advisor.render.check import render_rules
        from advisor.render.console import make_console

        render_rules(make_console(), listed)

    _emit("rules", as_json, RootModel[list[RuleInfo]](listed), render)


def main() -> None:
    from advisor.probe.spawn import prestart

    # Start importing torch in the target Python now: it is the slowest part of a check.
    prestart(sys.argv[1:])
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("advisor: interrupted", err=True)
        sys.exit(130)
