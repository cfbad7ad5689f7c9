"""Prices (data/prices.yaml): street prices of cards and hourly prices of cloud GPUs, each dated
and sourced. A user's file (--prices FILE) adds entries that win over the built-in ones."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from advisor import paths
from advisor.errors import KnowledgeError
from advisor.knowledge.yamlfile import entry_label, format_validation_error, read_mapping


def _month(value: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", value):
        raise ValueError(f"date must look like 2025-03 or 2025-03-14, got {value!r}")
    return value


class StreetPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    card: str
    condition: Literal["new", "used"]
    usd: float = Field(gt=0, le=1_000_000)
    date: str
    source: str = Field(min_length=1)
    note: str = ""
    origin: str = "built-in"

    _d = field_validator("date")(_month)


class CloudPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    instance: str
    gpu: str
    gpus: int = Field(ge=1, le=64)
    usd_per_hour: float = Field(gt=0, le=10_000)
    date: str
    source: str = Field(min_length=1)
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

    def buy(self, card: str, *, new_only: bool = False) -> StreetPrice | None:
        """The price to buy one card: the user's entries first, then the newest, cheapest."""
        rows = [p for p in self.street if p.card == card and (p.condition == "new" or not new_only)]
        if not rows:
            return None
        rows.sort(key=lambda p: (p.origin == "built-in", -_ordinal(p.date), p.usd))
        return rows[0]

    def rent(self, card: str) -> CloudPrice | None:
        rows = [p for p in self.cloud if p.gpu == card]
        rows.sort(key=lambda p: (p.origin == "built-in", p.usd_per_gpu_hour))
        return rows[0] if rows else None


def _ordinal(text: str) -> int:
    parts = [int(x) for x in text.split("-")] + [1]
    return date(parts[0], parts[1], parts[2]).toordinal()


def age_months(text: str, today: date | None = None) -> int:
    today = today or date.today()
    year, month = (int(x) for x in text.split("-")[:2])
    return (today.year - year) * 12 + today.month - month


def prices_path() -> Path:
    return paths.data_dir() / "prices.yaml"


def _parse(path: Path, origin: str) -> tuple[list[StreetPrice], list[CloudPrice]]:
    doc = read_mapping(path)
    unknown = sorted(set(doc) - {"schema_version", "street", "cloud"})
    if unknown:
        raise KnowledgeError(f"{path}: unknown top-level key(s): {', '.join(unknown)}")
    out_street: list[StreetPrice] = []
    out_cloud: list[CloudPrice] = []
    for key, model, sink in (("street", StreetPrice, out_street), ("cloud", CloudPrice, out_cloud)):
        entries = doc.get(key) or []
        if not isinstance(entries, list):
            raise KnowledgeError(f"{path}: '{key}' must be a list")
        for i, entry in enumerate(entries):
            label = entry_label(entry, i, key)
            if not isinstance(entry, dict):
                raise KnowledgeError(f"{path}: {label}: expected a mapping of fields")
            try:
                sink.append(model.model_validate({**entry, "origin": origin}))  # type: ignore[arg-type]
            except ValidationError as exc:
                raise KnowledgeError(format_validation_error(path, label, exc)) from None
    return out_street, out_cloud


@cache
def _builtin() -> tuple[tuple[StreetPrice, ...], tuple[CloudPrice, ...]]:
    street, cloud = _parse(prices_path(), "built-in")
    return tuple(street), tuple(cloud)


def load_prices(extra: Path | None = None) -> PriceBook:
    street, cloud = _builtin()
    if extra is None:
        return PriceBook(street=street, cloud=cloud)
    more_street, more_cloud = _parse(extra, str(extra))
    return PriceBook(street=tuple(more_street) + street, cloud=tuple(more_cloud) + cloud)
