"""`advisor cards list|show`."""

from __future__ import annotations

from typing import Annotated

import typer

from advisor.choices import Architecture, Segment
from advisor.cli.app import CardsOpt, JsonOpt, _database, _emit, _run, cards_app, finite


@cards_app.command("list", short_help="List the known GPUs with their key figures.")
def cards_list(
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            "-s",
            help="Sort by a column header (memory, gb/s, bf16, fp16, fp32, tdp, year, launch, "
            "arch, segment, card) or any number field of the card (e.g. nvlink_bandwidth_gbs).",
        ),
    ] = "year",
    descending: Annotated[bool, typer.Option("--desc", help="Largest first.")] = False,
    segment: Annotated[Segment | None, typer.Option(case_sensitive=False, help="Only this segment.")] = None,
    arch: Annotated[
        Architecture | None, typer.Option("--arch", case_sensitive=False, help="Only this architecture.")
    ] = None,
    min_memory: Annotated[
        float | None, typer.Option("--min-memory", help="Only cards with at least this many GB.")
    ] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Every column, however wide the terminal.")] = False,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the known GPUs with their key figures.

    The columns that fit the terminal are shown, most important first; the line under the table
    names the others (--wide shows them).

    Examples: `advisor cards list --sort bf16 --desc`,
    `advisor cards list --segment consumer --min-memory 24`.
    """
    from advisor.knowledge.catalog import CardListResult, select_cards

    def compute() -> CardListResult:
        finite("--min-memory", min_memory)
        db = _database(cards)
        return select_cards(
            db, sort=sort, descending=descending, segment=segment, arch=arch, min_memory=min_memory
        )

    result = _run("cards list", as_json, compute)

    _emit("cards list", as_json, result, "advisor.render.cards:render_card_table", wide)


@cards_app.command("show", short_help="Every figure of one card, with its sources.")
def cards_show(
    name: Annotated[str, typer.Argument(help='A card, loosely: "3090", "v100 sxm2 32", "h100 pcie".')],
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every figure of one card, with its sources."""
    from advisor.knowledge.match import find_card

    card = _run("cards show", as_json, lambda: find_card(name, _database(cards).cards))

    _emit("cards show", as_json, card, "advisor.render.cards:render_card_sheet")
