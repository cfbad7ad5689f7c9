"""The card table and the one-card sheet."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from advisor.knowledge.cards import Card
from advisor.knowledge.catalog import CardListResult


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"


def _price(value: float | None) -> str:
    return "-" if value is None else f"${value:,.0f}"


def render_card_table(console: Console, result: CardListResult) -> None:
    cards, files = result.cards, result.files
    table = Table(title=f"{len(cards)} GPUs", title_justify="left", header_style="bold")
    for header, justify in [
        ("Card", "left"),
        ("Arch", "left"),
        ("CC", "right"),
        ("Memory", "right"),
        ("GB/s", "right"),
        ("FP32", "right"),
        ("TF32", "right"),
        ("FP16", "right"),
        ("BF16", "right"),
        ("FP8", "right"),
        ("TDP W", "right"),
        ("Year", "right"),
        ("Launch", "right"),
        ("Segment", "left"),
    ]:
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for c in cards:
        table.add_row(
            c.name + (" *" if c.origin != "built-in" else ""),
            c.architecture,
            c.compute_capability,
            f"{_num(c.memory_gib, 0)} GB {c.memory_type}",
            _num(c.memory_bandwidth_gbs, 0),
            _num(c.fp32_tflops),
            _num(c.tf32_tensor_tflops),
            _num(c.fp16_tensor_tflops),
            _num(c.bf16_tensor_tflops),
            _num(c.fp8_tensor_tflops),
            str(c.tdp_w),
            str(c.release_year),
            _price(c.launch_price_usd),
            c.segment,
        )
    console.print(table)
    console.print(
        "TFLOPS are dense tensor-core peaks (FP16/BF16/FP8 with FP32 accumulate); FP32 is "
        "non-tensor. * = changed by your file. `advisor cards show NAME` gives sources."
    )
    if len(files) > 1:
        console.print("Files: " + ", ".join(files))


def render_card_sheet(console: Console, card: Card) -> None:
    table = Table(title=card.name, title_justify="left", show_header=False, box=None)
    table.add_column("field", style="bold")
    table.add_column("value")
    flagged = set(card.unconfirmed)

    def row(label: str, field: str, text: str) -> None:
        table.add_row(label, text + ("  (unconfirmed)" if field in flagged else ""))

    row("NVML names", "nvml_names", ", ".join(card.nvml_names))
    row("PCI device ids", "pci_device_ids", ", ".join(card.pci_device_ids) or "-")
    row("Architecture", "architecture", card.architecture)
    row("Compute capability", "compute_capability", card.compute_capability)
    row("Memory", "memory_gib", f"{_num(card.memory_gib, 0)} GB {card.memory_type}")
    row("Memory bandwidth", "memory_bandwidth_gbs", f"{_num(card.memory_bandwidth_gbs, 0)} GB/s")
    row("FP32", "fp32_tflops", f"{_num(card.fp32_tflops)} TFLOPS")
    for label, field in [
        ("TF32 tensor", "tf32_tensor_tflops"),
        ("FP16 tensor (FP32 acc)", "fp16_tensor_tflops"),
        ("FP16 tensor (FP16 acc)", "fp16_tensor_fp16acc_tflops"),
        ("BF16 tensor", "bf16_tensor_tflops"),
        ("FP8 tensor", "fp8_tensor_tflops"),
    ]:
        value = getattr(card, field)
        if value is not None:
            row(label, field, f"{_num(value)} TFLOPS dense")
    if card.int8_tensor_tops is not None:
        row("INT8 tensor", "int8_tensor_tops", f"{_num(card.int8_tensor_tops)} TOPS dense")
    row("TDP", "tdp_w", f"{card.tdp_w} W")
    row("PCIe", "pcie_gen", f"Gen {card.pcie_gen}")
    nvlink = card.nvlink_bandwidth_gbs
    row("NVLink", "nvlink_bandwidth_gbs", f"{_num(nvlink, 0)} GB/s" if nvlink else "none")
    row("Released", "release_year", str(card.release_year))
    row("Launch price", "launch_price_usd", _price(card.launch_price_usd))
    row("Segment", "segment", card.segment)
    if card.notes:
        table.add_row("Notes", card.notes)
    table.add_row("Sources", "\n".join(card.sources))
    if card.origin != "built-in":
        table.add_row("From", card.origin)
    console.print(table)
