"""Selecting and ordering cards for `advisor cards list` (pure)."""

from __future__ import annotations

from pydantic import BaseModel

from advisor.errors import AdvisorError
from advisor.knowledge.cards import ARCHITECTURE_ORDER, NUMERIC_FIELDS, Card, CardDatabase

SEGMENTS = ("consumer", "workstation", "datacenter")
TEXT_SORTS = ("name", "architecture", "segment", "compute_capability")

# The columns of `cards list`: (header, field it shows). `--sort` takes a header as well as a field.
LIST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Card", "name"),
    ("Arch", "architecture"),
    ("CC", "compute_capability"),
    ("Memory", "memory_gib"),
    ("Type", "memory_type"),
    ("GB/s", "memory_bandwidth_gbs"),
    ("FP32", "fp32_tflops"),
    ("TF32", "tf32_tensor_tflops"),
    ("FP16", "fp16_tensor_tflops"),
    ("BF16", "bf16_tensor_tflops"),
    ("FP8", "fp8_tensor_tflops"),
    ("TDP W", "tdp_w"),
    ("Year", "release_year"),
    ("Launch", "launch_price_usd"),
    ("Segment", "segment"),
)
_SORT_WORDS = {h.lower(): f for h, f in LIST_COLUMNS} | {
    "tdp": "tdp_w",
    "price": "launch_price_usd",
    "bandwidth": "memory_bandwidth_gbs",
    "int8": "int8_tensor_tops",
    "nvlink": "nvlink_bandwidth_gbs",
    "pcie": "pcie_gen",
}


def sort_field(word: str) -> str:
    """The card field ``--sort`` means: a field name, or a column header (``bf16``, ``gb/s``)."""
    key = word.strip().lower()
    field = key if key in NUMERIC_FIELDS or key in TEXT_SORTS else _SORT_WORDS.get(key)
    if field is None or (field not in NUMERIC_FIELDS and field not in TEXT_SORTS):
        headers = [h.lower() for h, f in LIST_COLUMNS if f in NUMERIC_FIELDS or f in TEXT_SORTS]
        raise AdvisorError(
            f"cannot sort by {word!r}; choose a column ({', '.join(headers)}) or a field "
            f"({', '.join(NUMERIC_FIELDS)})"
        )
    return field


class CardListResult(BaseModel):
    cards: list[Card]
    files: list[str]
    sort: str
    descending: bool


def select_cards(
    db: CardDatabase,
    *,
    sort: str = "release_year",
    descending: bool = False,
    segment: str | None = None,
    arch: str | None = None,
    min_memory: float | None = None,
) -> CardListResult:
    sort = sort_field(sort)
    if segment is not None and segment.lower() not in SEGMENTS:
        raise AdvisorError(f"unknown segment {segment!r}; choose one of: {', '.join(SEGMENTS)}")
    if arch is not None and arch.lower() not in ARCHITECTURE_ORDER:
        raise AdvisorError(f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHITECTURE_ORDER)}")
    if min_memory is not None and min_memory < 0:
        raise AdvisorError(f"--min-memory must be at least 0 GB, got {min_memory:g}")
    chosen = [
        c
        for c in db.cards
        if (segment is None or c.segment == segment.lower())
        and (arch is None or c.architecture == arch.lower())
        and (min_memory is None or c.memory_gib >= min_memory)
    ]
    known = [c for c in chosen if _value(c, sort) is not None]
    unknown = sorted((c for c in chosen if _value(c, sort) is None), key=lambda c: c.name)
    known.sort(key=lambda c: (_value(c, sort), c.name), reverse=descending)
    # Unknown figures go last whichever way the list is sorted.
    return CardListResult(cards=known + unknown, files=list(db.files), sort=sort, descending=descending)


def _value(card: Card, field: str) -> float | str | None:
    if field == "architecture":
        return float(ARCHITECTURE_ORDER.index(card.architecture))
    if field == "compute_capability":  # "10.0" after "8.9"
        major, _, minor = card.compute_capability.partition(".")
        return int(major) + int(minor or 0) / 100
    raw = getattr(card, field)
    return raw.lower() if isinstance(raw, str) else raw
