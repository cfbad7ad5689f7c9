"""The bench report: each figure next to the card's datasheet value."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.bench.results import NOISY_SPREAD, BenchReport, DeviceResult, Measured

GIB = 1024**3


def _row(table: Table, m: Measured) -> None:
    if m.value is None:
        table.add_row(m.name, "-", "", "", escape(m.detail or ""))
        return
    sheet = f"{m.datasheet:g}" if m.datasheet else "-"
    frac = f"{m.fraction_of_datasheet:.0%}" if m.fraction_of_datasheet else "-"
    spread = (f" ±{m.spread / 2:.0%}" if m.spread else "") + (" !" if m.noisy else "")
    value = f"{m.value:,.1f}" if m.value >= 100 else f"{m.value:.3g}"
    table.add_row(m.name, f"{value} {m.unit}{spread}", sheet, frac, escape(m.detail or ""))


def render_device(console: Console, d: DeviceResult) -> None:
    title = f"{d.device}: {d.name}" + (f" (card database: {d.card})" if d.card else "")
    console.print(f"[bold]{escape(title)}[/]" + (f" · torch {d.torch}" if d.torch else ""))
    if d.error:
        console.print(f"  [red]{escape(d.error)}[/]")
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("measure", "measured (median ± half spread)", "datasheet", "of datasheet", "how"):
        table.add_column(col)
    for m in (*d.matmul, *d.bandwidth):
        _row(table, m)
    console.print(table)
    t = d.training
    if t is not None:
        mfu = f" · MFU {t.mfu:.0%} of the {t.precision} peak" if t.mfu is not None else ""
        console.print(
            f"  training ({t.params / 1e6:.1f}M-param GPT, batch {t.batch} x {t.seq}, {t.precision}): "
            f"{t.tokens_per_second:,.0f} tokens/s ±{t.spread / 2:.0%}{' !' if t.noisy else ''} · "
            f"{t.achieved_tflops:.2f} TFLOPS"
            f"{mfu} · loss {t.loss_first:.2f} -> {t.loss_last:.3f} over {t.steps} steps"
        )
        if t.peak_memory_bytes is not None and t.predicted_memory_bytes:
            console.print(
                f"  peak memory {t.peak_memory_bytes / GIB:.2f} GiB measured "
                f"(torch.cuda.max_memory_allocated) vs {t.predicted_memory_bytes / GIB:.2f} "
                "GiB by advisor estimate"
            )
    if d.gpu_over_cpu is not None and d.cpu_training_tokens_per_second is not None:
        console.print(
            f"  the same workload on the CPU: {d.cpu_training_tokens_per_second:,.0f} "
            f"tokens/s -> this GPU is {d.gpu_over_cpu:,.0f}x faster"
        )
    for note in d.notes:
        console.print(f"  note: {escape(note)}")
    if any(m.noisy for m in (*d.matmul, *d.bandwidth)) or (t is not None and t.noisy):
        console.print(
            f"  ! the repeats spread over {NOISY_SPREAD:.0%}: another process is using the device or "
            "its clocks moved (advisor check shows throttling and memory held); rerun when it is idle"
        )


def render_bench(console: Console, report: BenchReport, saved: str | None = None) -> None:
    for d in report.devices:
        render_device(console, d)
        console.print()
    if report.interrupted:
        console.print("[yellow]interrupted: the results above are what was measured so far[/]")
    if saved:
        render_saved(console, report, saved)


def render_saved(console: Console, report: BenchReport, saved: str) -> None:
    if saved:
        calibrates = any(d.card and d.training and d.training.mfu for d in report.devices)
        console.print(
            f"saved to {escape(saved)}"
            + ("; advisor estimate --card uses the measured MFU for these cards" if calibrates else "")
        )
