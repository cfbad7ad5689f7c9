"""The recommendation for people: the answer first (buy, the fastest within the budget, rent), then
one row per card with its verdict. The table fits 80 columns; --wide adds rent and break-even."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.knowledge.prices import age_months
from advisor.recommend import Capability, Option, Recommendation
from advisor.recommend.jobsize import JobSize

GIB = 1024**3
UNIT_SHORT = {"tokens": "tok/s", "images": "img/s", "steps": "step/s"}
PLAN_SHORT = {"single": "", "ddp": " DDP", "zero3": " Z3", "tensor": " TP", "layers": " split"}
TASK_SHORT = {"train": "full", "finetune": "full", "lora": "LoRA", "qlora": "QLoRA"}
NEEDS_TEXT = {
    "sxm_baseboard": "an SXM baseboard (an HGX/DGX server)",
    "server_airflow": "server airflow (a passive card)",
    "big_psu": "a large PSU and board",
    "slots": "more slots than the board has",
    "spacing": "risers or liquid cooling (open-air cards side by side)",
    "circuit": "a second power circuit (over 1,440 W)",
}
NEEDS_SHORT = {
    "sxm_baseboard": "needs SXM board",
    "server_airflow": "needs airflow",
    "big_psu": "needs big PSU",
    "slots": "needs more slots",
    "spacing": "needs risers",
    "circuit": "needs 2 circuits",
}


def usd(v: float | None) -> str:
    return "-" if v is None else f"${v:,.0f}"


def short_card(name: str) -> str:
    for prefix in ("GeForce ", "NVIDIA ", "Tesla "):
        name = name.removeprefix(prefix)
    return name.replace(" Generation", "")


def how(o: Option) -> str:
    """What runs, in a few characters: the job (full, LoRA, QLoRA, or the inference precision), a
    star when it runs in fp16 for lack of bf16, and how it is spread over several GPUs."""
    what = TASK_SHORT.get(o.task, o.precision) + ("*" if o.precision_fallback else "")
    return what + (PLAN_SHORT[o.plan] if o.gpus > 1 else "")


def card_cell(o: Option) -> str:
    name = short_card(o.card)
    return f"{o.gpus}x {name}" if o.gpus > 1 else name


def verdict(o: Option) -> str:
    ratio = o.vs_winner
    return {
        "best_value": "best value",
        "fastest": f"fastest ({ratio:.1f}x)" if ratio else "fastest",
        "fits": f"{1 / ratio:.2f}x the value" if ratio else "fits",
        "tight": "tight fit",
        "more_gpus": f"needs {o.gpus} GPUs",
        "fp16_only": "fp16 only",
        "lighter_job": f"only as {TASK_SHORT.get(o.task, o.precision)}",
        "over_budget": "over budget",
        "no_price": "no price: rent",
        "needs_host": next((NEEDS_SHORT[n] for n in o.needs if n != "big_psu"), "needs a host"),
        "no_fit": "does not fit",
    }[o.verdict]


def size_text(s: JobSize) -> str:
    if s.unit == "tokens":
        text = f"{s.amount / 1e9:g}B tokens" if s.amount >= 1e9 else f"{s.amount / 1e6:g}M tokens"
    elif s.unit == "steps":
        text = f"{s.amount:,.0f} steps"
    elif s.epochs is not None and s.images_per_epoch:
        text = f"{s.images_per_epoch:,} images x {s.epochs:g} epochs"
    else:
        text = f"{s.amount:,.0f} images"
    return text + (" (default; set the size)" if s.default else "")


def _pick_lines(label: str, o: Option, unit: str) -> list[str]:
    price = ""
    if o.price is not None:
        basis = {"sold": "sold avg", "retail": "retail", "listing": "asking avg", "estimate": "estimate"}
        kind = basis.get(o.price.basis, o.price.basis)
        if o.price.basis == "launch":
            price = f"launch price {usd(o.buy_usd)} ({o.price.date[:4]}; no market price known)"
        elif o.price.basis == "system":
            price = f"{usd(o.buy_usd)} for {o.price.system_gpus}-GPU systems ({o.price.date})"
        else:
            price = f"{o.price.condition} {usd(o.buy_usd)} ({kind}, {o.price.date})"
    speed = f"{o.throughput:,.0f} {unit}" if o.throughput else "speed unknown"
    hours = f", {o.job_hours:,.0f} h for the job" if o.job_hours else ""
    free = f", {o.headroom:.0%} of its memory free"
    return [
        f"[bold]{label}[/] {o.gpus}x {escape(o.card)} ({escape(how(o))})",
        f"  {escape(price)}" if price else "  no price known",
        f"  {speed}{hours}{free}",
    ]


def render_recommendation(console: Console, r: Recommendation, limit: int = 12, wide: bool = False) -> None:
    unit = UNIT_SHORT[r.size.unit]
    task = TASK_SHORT.get(r.task, r.task)
    console.print(escape(f"{r.model} · {task} · {size_text(r.size)} · {r.host}"))
    if "nothing_fits_as_asked" in r.notes or "nothing_within_budget" in r.notes:
        budget = f" within {usd(r.budget_usd)}" if r.budget_usd else ""
        console.print(f"[bold red]Nothing fits this job as asked{budget}.[/]")
        if r.would_fit is not None:
            w = r.would_fit
            console.print(
                f"  As asked it needs {w.gpus}x {escape(w.card)} ({escape(how(w))}), "
                f"{usd(w.buy_usd)}"
                + (f", or rent it for {usd(w.rent_usd_for_job)}" if w.rent_usd_for_job else "")
            )
    if r.your_machine is not None:
        console.print(f"[bold]Your machine:[/] {escape(_machine(r))}")
    if r.best_value is not None:
        for line in _pick_lines("Buy:", r.best_value, unit):
            console.print(line)
        _needs(console, r.best_value)
    if r.fastest is not None:
        budget = f" within {usd(r.budget_usd)}" if r.budget_usd else ""
        for line in _pick_lines(f"Fastest{budget}:", r.fastest, unit):
            console.print(line)
        _needs(console, r.fastest)
    if r.rent is not None and r.rent.option is not None and r.rent.option.rent is not None:
        o, rent = r.rent.option, r.rent.option.rent
        word = {"rent": "[bold green]Rent:[/]", "buy": "Or rent:", "either": "Or rent:"}[r.rent.decision]
        console.print(f"{word} {o.gpus}x {escape(o.card)} on {escape(rent.provider)}")
        console.print(
            f"  {rent.kind} ${rent.usd_per_gpu_hour:,.2f}/GPU-h, {usd(r.rent.total_usd)} for the job "
            f"({o.job_hours or 0:,.0f} h)"
        )
        spot = o.rent_interruptible
        if spot is not None and spot.usd_per_gpu_hour < rent.usd_per_gpu_hour:
            console.print(f"  interruptible: ${spot.usd_per_gpu_hour:,.2f}/GPU-h on {escape(spot.provider)}")
        if r.rent.buy_break_even_hours and r.best_value is not None and r.best_value.job_hours:
            kwh = r.assumptions.get("electricity_usd_per_kwh", 0.0)
            console.print(
                f"  buying pays off after {r.rent.buy_break_even_hours:,.0f} h of such jobs "
                f"(host {usd(r.best_value.host_usd)}, power at ${kwh:.3g}/kWh)"
            )
    table = Table(header_style="bold", box=None, pad_edge=False)
    columns = ["card", "how", "GiB", unit, "hours", "price", "verdict"]
    if wide:
        columns += ["rent $/h", "rent job", "pays off h", "scaling", "needs"]
    for col in columns:
        table.add_column(
            col, no_wrap=True, justify="right" if col in ("GiB", unit, "hours", "price") else "left"
        )
    for o in r.options[:limit]:
        row = [
            escape(card_cell(o)),
            escape(how(o)),
            f"{o.memory_per_gpu_bytes / GIB:.1f}",
            f"{o.throughput:,.0f}"
            if o.throughput and o.throughput >= 10
            else (f"{o.throughput:.2f}" if o.throughput else "-"),
            f"{o.job_hours:,.0f}" if o.job_hours else "-",
            usd(o.buy_usd),
            verdict(o),
        ]
        if wide:
            row += [
                f"{o.rent.usd_per_gpu_hour * o.gpus:,.2f}" if o.rent else "-",
                usd(o.rent_usd_for_job),
                f"{o.break_even_hours:,.0f}" if o.break_even_hours else "-",
                f"{o.scaling:.0%}",
                ", ".join(o.needs) or "-",
            ]
        table.add_row(*row)
    console.print(table)
    if len(r.options) > limit:
        console.print(f"({len(r.options) - limit} more in --json)")
    _notes(console, r, r.options[:limit])


def _needs(console: Console, o: Option) -> None:
    if not o.needs:
        return
    text = [f"a {o.psu_w:,} W power supply" if n == "big_psu" and o.psu_w else NEEDS_TEXT[n] for n in o.needs]
    console.print("  needs " + ", ".join(text))


def _machine(r: Recommendation) -> str:
    m = r.your_machine
    assert m is not None
    o, up = m.option, m.upgrade
    if m.code in ("fits", "faster_upgrade") and o is not None:
        text = f"your {m.description} already runs this ({how(o)})"
        if o.job_hours:
            text += f", about {o.job_hours:,.0f} h"
        if m.code == "faster_upgrade" and up is not None and m.speedup:
            text += f"; {up.gpus}x {up.card} would be {m.speedup:.1f}x faster for {usd(up.buy_usd)}"
        return text
    if m.code == "lighter_only" and o is not None:
        text = f"your {m.description} runs this only as {how(o)}"
        if up is not None:
            text += f"; as asked: {up.gpus}x {up.card} ({how(up)}), {usd(up.buy_usd)}"
        return text
    if m.code == "cannot" and up is not None and o is not None:
        return (
            f"your {m.description} cannot run this (needs {o.memory_per_gpu_bytes / GIB:.0f} GiB per GPU); "
            f"the best value that does: {up.gpus}x {up.card} ({how(up)}), {usd(up.buy_usd)}"
        )
    return f"your {m.description} cannot run this, and no card in the budget can"


def _notes(console: Console, r: Recommendation, shown: list[Option]) -> None:
    if "checkpointing_assumed" in r.notes:
        console.print("LoRA/QLoRA assume gradient checkpointing (--no-grad-checkpointing: not).")
    if any(o.precision_fallback for o in shown):
        console.print("* in fp16 (the card has no bf16)")
    plans = {o.plan for o in shown if o.gpus > 1}
    if plans:
        legend = {
            "ddp": "DDP: data parallel",
            "zero3": "Z3: ZeRO-3/FSDP shards",
            "tensor": "TP: tensor parallel",
            "layers": "split: layers in turn (llama.cpp)",
        }
        console.print(", ".join(text for plan, text in legend.items() if plan in plans))
    if r.prices_newest:
        console.print(
            f"Prices dated {r.prices_oldest} to {r.prices_newest} (oldest "
            f"{age_months(r.prices_oldest or r.prices_newest)} months); newer: --prices FILE"
        )


def capability_lines(caps: list[Capability]) -> list[str]:
    return [f"{c.task}: up to {c.largest}" if c.largest else f"{c.task}: no preset fits" for c in caps]
