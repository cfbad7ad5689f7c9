"""Prices (data/prices.yaml): street prices of cards, prices of 8-GPU systems, and hourly prices of
cloud GPUs, each dated, sourced and graded. A user's file (--prices FILE) adds entries that win
over the built-in ones.

A price is picked by confidence, then date: a sold-price average or a retailer's price beats an
average of asking prices, and a figure over two years old counts one grade lower. A launch price
is only a labelled fallback."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from advisor import paths
from advisor.errors import KnowledgeError
from advisor.knowledge.yamlfile import check_schema, entry_label, format_validation_error, read_mapping


def _month(value: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", value):
        raise ValueError(f"date must look like 2025-03 or 2025-03-14, got {value!r}")
    parts = [int(x) for x in value.split("-")] + [1]
    try:
        when = date(parts[0], parts[1], parts[2])
    except ValueError:
        raise ValueError(f"{value!r} is not a date") from None
    if not 1990 <= when.year <= 2100:
        raise ValueError(f"{value!r} is not a plausible price date")
    return value


Confidence = Literal["high", "medium", "low"]
# sold: an average of sold prices; retail: a retailer's price; listing: an average of asking
# prices; estimate: a guide's or article's range; launch: the launch price (a fallback);
# system: one GPU's share of an 8-GPU system's price
Basis = Literal["sold", "retail", "listing", "estimate", "launch", "system"]
RentKind = Literal["on-demand", "interruptible"]
CONFIDENCE_RANK: dict[str, int] = {"high": 2, "medium": 1, "low": 0}
STALE_MONTHS = 24  # older than this, a price counts one confidence grade lower


class StreetPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    card: str
    condition: Literal["new", "used"]
    usd: float = Field(gt=0, le=1_000_000)
    date: str
    source: str = Field(min_length=1)
    confidence: Confidence = "medium"
    basis: Basis = "retail"
    system_gpus: int | None = Field(default=None, ge=1, le=64)  # basis system: bought whole
    note: str = ""
    origin: str = "built-in"

    _d = field_validator("date")(_month)


class SystemPrice(BaseModel):
    """An 8-GPU server (HGX/DGX): the way SXM modules are bought."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str
    card: str
    gpus: int = Field(ge=1, le=64)
    usd: float = Field(gt=0, le=10_000_000)
    date: str
    source: str = Field(min_length=1)
    confidence: Confidence = "medium"
    note: str = ""
    origin: str = "built-in"

    _d = field_validator("date")(_month)

    def per_gpu(self) -> StreetPrice:
        return StreetPrice(
            card=self.card,
            condition="new",
            usd=self.usd / self.gpus,
            date=self.date,
            source=self.source,
            confidence=self.confidence,
            basis="system",
            system_gpus=self.gpus,
            note=f"{self.name}: ${self.usd:,.0f} for {self.gpus} GPUs, host included",
            origin=self.origin,
        )


class CloudPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    provider: str
    instance: str
    gpu: str
    gpus: int = Field(ge=1, le=64)
    usd_per_hour: float = Field(gt=0, le=10_000)
    date: str
    source: str = Field(min_length=1)
    confidence: Confidence = "medium"
    kind: RentKind = "on-demand"
    note: str = ""
    origin: str = "built-in"

    _d = field_validator("date")(_month)

    @property
    def usd_per_gpu_hour(self) -> float:
        return self.usd_per_hour / self.gpus


class PriceBook(BaseModel):
    model_config = ConfigDict(frozen=True)

    street: tuple[StreetPrice, ...]
    cloud: tuple[CloudPrice, ...]
    systems: tuple[SystemPrice, ...] = ()

    def buy(
        self, card: str, *, new_only: bool = False, system: bool = False, today: date | None = None
    ) -> StreetPrice | None:
        """The price to buy one card: the user's entries first, then by confidence (a stale price
        or a launch price a grade lower), then the newest, then the cheapest. ``system``: the card
        is a module bought in an 8-GPU system, whose per-GPU share is its price when known."""
        rows = [p for p in self.street if p.card == card and (p.condition == "new" or not new_only)]
        systems = [s.per_gpu() for s in self.systems if s.card == card]
        fresh = [s for s in systems if age_months(s.date, today) <= STALE_MONTHS]
        if system and fresh:
            rows = fresh  # a module is bought in a system; a stale system price yields to the market
        else:
            rows += systems
        return min(
            rows,
            key=lambda p: (
                p.origin == "built-in",
                -_grade(p.confidence, p.date, today, p.basis),
                -_ordinal(p.date),
                p.usd,
            ),
            default=None,
        )

    def rent(self, card: str, kind: RentKind = "on-demand", today: date | None = None) -> CloudPrice | None:
        """The rent of one GPU of ``card`` of that kind: the user's entries first, then the best
        graded, then the cheapest."""
        rows = [p for p in self.cloud if p.gpu == card and p.kind == kind]
        return min(
            rows,
            key=lambda p: (p.origin == "built-in", -_grade(p.confidence, p.date, today), p.usd_per_gpu_hour),
            default=None,
        )


def _grade(confidence: str, when: str, today: date | None, basis: str = "") -> int:
    """A price's confidence, a grade lower when it is stale or only a launch price."""
    return CONFIDENCE_RANK[confidence] - (age_months(when, today) > STALE_MONTHS) - (basis == "launch")


def _ordinal(text: str) -> int:
    parts = [int(x) for x in text.split("-")] + [1]
    return date(parts[0], parts[1], parts[2]).toordinal()


def age_months(text: str, today: date | None = None) -> int:
    today = today or date.today()
    year, month = (int(x) for x in text.split("-")[:2])
    return (today.year - year) * 12 + today.month - month


def prices_path() -> Path:
    return paths.data_dir() / "prices.yaml"


Parsed = tuple[list[StreetPrice], list[CloudPrice], list[SystemPrice]]


def _parse(path: Path, origin: str) -> Parsed:
    doc = read_mapping(path)
    unknown = sorted(set(doc) - {"schema_version", "street", "cloud", "systems"})
    if unknown:
        raise KnowledgeError(f"{path}: unknown top-level key(s): {', '.join(unknown)}")
    check_schema(path, doc, 1)
    out_street: list[StreetPrice] = []
    out_cloud: list[CloudPrice] = []
    out_systems: list[SystemPrice] = []
    sections: tuple[tuple[str, type[BaseModel], list[Any]], ...] = (
        ("street", StreetPrice, out_street),
        ("cloud", CloudPrice, out_cloud),
        ("systems", SystemPrice, out_systems),
    )
    for key, model, sink in sections:
        entries = doc.get(key) or []
        if not isinstance(entries, list):
            raise KnowledgeError(f"{path}: '{key}' must be a list")
        for i, entry in enumerate(entries):
            label = entry_label(entry, i, key)
            if not isinstance(entry, dict):
                raise KnowledgeError(f"{path}: {label}: expected a mapping of fields")
            try:
                sink.append(model.model_validate({**entry, "origin": origin}))
            except ValidationError as exc:
                raise KnowledgeError(format_validation_error(path, label, exc)) from None
    return out_street, out_cloud, out_systems


@cache
def _builtin() -> PriceBook:
    street, cloud, systems = _parse(prices_path(), "built-in")
    return PriceBook(street=tuple(street), cloud=tuple(cloud), systems=tuple(systems))


def load_prices(extra: Path | None = None) -> PriceBook:
    book = _builtin()
    if extra is None:
        return book
    street, cloud, systems = _parse(extra, str(extra))
    return PriceBook(
        street=tuple(street) + book.street,
        cloud=tuple(cloud) + book.cloud,
        systems=tuple(systems) + book.systems,
    )
