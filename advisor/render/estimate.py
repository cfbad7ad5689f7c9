"""The estimate for people: the memory lines, whether it fits, how fast."""

from __future__ import annotations

from pydantic import RootModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.estimate.report import EstimateReport
from advisor.knowledge.models import ModelSpec
from advisor.render.fit import Column, print_fitted

GIB = 1024**3


def gib(n: float) -> str:
    return f"{n / GIB:,.2f} GiB"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:,.1f} h"


def render_estimate(console: Console, r: EstimateReport) -> None:
    job, m = r.job, r.model
    what = (
        f"{m.display_name} · {m.params / 1e9:.3g}B params"
        + (f" ({m.params_per_token / 1e9:.3g}B active)" if m.active_params else "")
        + f" · {job.task} · {job.precision}"
        + (f" · {job.optimizer}" if job.training else "")
        + f" · batch {job.batch} x seq {r.seq}"
        + (f" -> {job.target_seq or r.seq}" if m.kind == "encoder_decoder" else "")
        + (" · grad checkpointing" if job.grad_checkpointing else "")
        + f" · {job.attention} attention"
        + (f" · {job.gpus} GPUs" if job.gpus > 1 else "")
        + (f" · {job.sharding}" if job.sharding != "none" else "")
    )
    console.print(escape(what))
    table = Table(title="Memory per GPU", title_justify="left", header_style="bold", box=None)
    table.add_column("line")
    table.add_column("bytes", justify="right")
    table.add_column("how")
    for line in r.memory.lines:
        if line.name == "transient" and not line.bytes:
            continue
        mark = "" if line.at_peak or not line.bytes else " [dim](not at the peak)[/]"
        table.add_row(line.name, gib(line.bytes), escape(line.how) + mark)
    table.add_row("[bold]total[/]", f"[bold]{gib(r.memory.total)}[/]", f"peak at {r.memory.phase} + overhead")
    console.print(table)
    for note in r.memory.notes:
        console.print(f"  note: {escape(note)}")
    if r.fit is not None:
        f = r.fit
        verdict = "[green]fits[/]" if f.fits else "[bold red]does not fit[/]"
        console.print(
            f"{escape(f.card)} ({gib(f.card_memory_bytes)}, {gib(f.usable_bytes)} usable): "
            f"{verdict} — {gib(abs(f.free_bytes))} "
            f"{'to spare' if f.fits else 'short'}"
        )
    s = r.speed
    if s is not None:
        if s.unavailable:
            console.print(f"speed: {escape(s.unavailable)}")
        elif s.step_seconds is not None and s.tokens_per_second is not None and job.training:
            console.print(
                f"speed: {s.tokens_per_second:,.0f} tokens/s · {_duration(s.step_seconds)} per step "
                f"({s.tokens_per_step:,} tokens) · {s.hours_per_billion_tokens:,.1f} h per billion "
                f"tokens"
            )
        elif s.samples_per_second is not None:
            console.print(f"speed: {s.samples_per_second:,.1f} samples/s")
        else:
            decode = f"{s.decode_tokens_per_second:,.0f}" if s.decode_tokens_per_second else "?"
            console.print(
                f"speed: prefill {s.prefill_tokens_per_second:,.0f} tokens/s · decode "
                f"{decode} tokens/s (batch {job.batch})"
            )
        if not s.unavailable:
            console.print(
                f"  assumes {s.utilization:.0%} of {s.peak_tflops:g} TFLOPS {s.dtype} "
                f"peak ({escape(s.utilization_source)})"
            )


def render_models(console: Console, listed: RootModel[list[ModelSpec]], wide: bool = False) -> None:
    models = listed.root
    columns = [
        Column("preset", 0, cells=[m.name for m in models]),
        Column("params", 1, "right", [f"{m.params / 1e9:.3g}B" for m in models]),
        Column("context", 2, "right", [str(m.max_seq_len or "-") for m in models]),
        Column("kind", 3, cells=[m.kind for m in models]),
        Column("layers", 4, "right", [str(m.num_layers or "-") for m in models]),
        Column("hidden", 4, "right", [str(m.hidden_size or "-") for m in models]),
        Column("model", 5, cells=[escape(m.display_name) for m in models]),
    ]
    print_fitted(console, columns, wide=wide)
    console.print("Also accepted: a size (7B, 350M, 1.3e9) or a Hugging Face config.json path.")
