"""The card table and the one-card sheet."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from advisor.knowledge.cards import NUMERIC_FIELDS, Card
from advisor.knowledge.catalog import LIST_COLUMNS, CardListResult
from advisor.render.fit import Column, print_fitted


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"


def _price(value: float | None) -> str:
    return "-" if value is None else f"${value:,.0f}"


# Which columns an 80-column terminal keeps first: what decides a purchase, then the details.
_PRIORITY = {
    "name": 0,
    "memory_gib": 1,
    "memory_bandwidth_gbs": 2,
    "bf16_tensor_tflops": 3,
    "fp16_tensor_tflops": 4,
    "fp32_tflops": 5,
    "compute_capability": 6,
    "release_year": 7,
    "launch_price_usd": 8,
    "tdp_w": 9,
    "fp8_tensor_tflops": 10,
    "architecture": 11,
    "tf32_tensor_tflops": 12,
    "memory_type": 13,
    "segment": 14,
}
_RIGHT = {"compute_capability", "memory_gib", "release_year", "tdp_w", "launch_price_usd"}


def _cell(card: Card, field: str) -> str:
    if field == "name":
        return card.name + (" *" if card.origin != "built-in" else "")
    if field == "memory_gib":
        return f"{_num(card.memory_gib, 0)} GB"
    if field == "memory_bandwidth_gbs":
        return _num(card.memory_bandwidth_gbs, 0)
    if field == "launch_price_usd":
        return _price(card.launch_price_usd)
    value = getattr(card, field)
    if isinstance(value, float):
        return _num(value)
    return "-" if value is None else str(value)


def render_card_table(console: Console, result: CardListResult, wide: bool = False) -> None:
    cards, files = result.cards, result.files
    columns = [
        Column(
            header,
            # the column the list is sorted by is always shown
            -1 if field == result.sort and field != "name" else _PRIORITY[field],
            "right" if field in _RIGHT or field in NUMERIC_FIELDS else "left",
            [_cell(c, field) for c in cards],
        )
        for header, field in LIST_COLUMNS
    ]
    print_fitted(console, columns, wide=wide, title=f"{len(cards)} GPUs", what="; --json has every field")
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
    if card.origin != "built-in":
        table.add_row("From", card.origin)
    console.print(table)
    # under the table, one per line and never cut: a URL is to be opened, not read
    console.print("Sources", style="bold")
    for url in card.sources:
        console.print(f"  {url}", soft_wrap=True, markup=False)
