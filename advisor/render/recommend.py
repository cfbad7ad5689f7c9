"""The recommendation for people: the winner, every card with why it lost, rent or buy."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.knowledge.prices import age_months
from advisor.recommend import Capability, Recommendation

GIB = 1024**3


def _usd(v: float | None) -> str:
    return "-" if v is None else f"${v:,.0f}"


def render_recommendation(console: Console, r: Recommendation, limit: int = 12) -> None:
    console.print(escape(f"{r.model} · {r.task} · job size {r.tokens / 1e9:g}B tokens"))
    if r.your_machine is not None:
        console.print(f"[bold]Your machine:[/] {escape(r.your_machine.summary)}")
    if r.winner is not None:
        w = r.winner
        console.print(
            f"[bold green]Buy:[/] {w.gpus}x {escape(w.card)} ({escape(w.how)}) for "
            f"{_usd(w.buy_usd)} — {w.tokens_per_second or 0:,.0f} tokens/s, "
            f"{w.job_hours or 0:,.1f} h for the job"
        )
        if w.buy is not None:
            console.print(
                f"  price: {escape(w.buy.condition)} ${w.buy.usd:,.0f} ({w.buy.date}, {escape(w.buy.source)})"
            )
    table = Table(header_style="bold", box=None)
    for col in (
        "card",
        "how",
        "GiB/GPU",
        "tokens/s",
        "job h",
        "buy",
        "tok/s per $1k",
        "rent $/h",
        "job in cloud",
        "break-even h",
        "why",
    ):
        table.add_column(col, no_wrap=col not in ("why",))
    for o in r.options[:limit]:
        table.add_row(
            f"{o.gpus}x {escape(o.card)}" if o.gpus > 1 else escape(o.card),
            escape(o.how),
            f"{o.memory_per_gpu_bytes / GIB:.1f}",
            f"{o.tokens_per_second:,.0f}" if o.tokens_per_second else "-",
            f"{o.job_hours:,.1f}" if o.job_hours else "-",
            _usd(o.buy_usd),
            f"{o.tokens_per_second_per_kusd:,.0f}" if o.tokens_per_second_per_kusd else "-",
            f"{o.rent.usd_per_gpu_hour * o.gpus:,.2f}" if o.rent else "-",
            _usd(o.rent_usd_for_job),
            f"{o.break_even_hours:,.0f}" if o.break_even_hours else "-",
            escape(o.verdict),
        )
    console.print(table)
    if len(r.options) > limit:
        console.print(f"({len(r.options) - limit} more in --json)")
    if r.prices_newest:
        console.print(
            f"Prices are dated {r.prices_oldest} to {r.prices_newest} "
            f"(the oldest is {age_months(r.prices_oldest or r.prices_newest)} months old); "
            "pass --prices FILE with today's."
        )
    for note in r.notes:
        console.print(f"note: {escape(note)}")


def capability_lines(caps: list[Capability]) -> list[str]:
    return [f"{c.task}: up to {c.largest}" if c.largest else f"{c.task}: no preset fits" for c in caps]
