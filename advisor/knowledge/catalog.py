"""Selecting and ordering cards for `advisor cards list` (pure)."""

from __future__ import annotations

from pydantic import BaseModel

from advisor.errors import AdvisorError
from advisor.knowledge.cards import ARCHITECTURE_ORDER, NUMERIC_FIELDS, Card, CardDatabase

SEGMENTS = ("consumer", "workstation", "datacenter")
TEXT_SORTS = ("name", "architecture", "segment")


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
    if sort not in NUMERIC_FIELDS and sort not in TEXT_SORTS:
        raise AdvisorError(
            f"cannot sort by {sort!r}; choose one of: {', '.join(TEXT_SORTS + NUMERIC_FIELDS)}"
        )
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
    raw = getattr(card, field)
    return raw.lower() if isinstance(raw, str) else raw
