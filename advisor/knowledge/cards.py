"""The GPU card database: schema, loading, user overrides.

Built-in cards come from ``data/cards.yaml``; a user adds or overrides cards with their own YAML
(``--cards FILE`` and ``<config dir>/cards.yaml``). An entry in a user file whose ``name`` is a
built-in card changes only the fields it lists; any other entry is a new card and must be complete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from advisor import paths
from advisor.choices import Architecture, FormFactor, Segment
from advisor.errors import KnowledgeError
from advisor.knowledge.yamlfile import check_schema, entry_label, format_validation_error, read_mapping

SCHEMA_VERSION = 1
GIB = 1024**3

# blower: a radial fan exhausting out of the case (stacks four wide); open_air: axial fans blowing
# into the case (two side by side at most); passive: no fan, needs a server's airflow
Cooling = Literal["blower", "open_air", "passive"]

ARCHITECTURE_ORDER: tuple[str, ...] = (
    "pascal",
    "volta",
    "turing",
    "ampere",
    "ada",
    "hopper",
    "blackwell",
)

# The figures a user may sort by, in the order `cards list` shows them.
NUMERIC_FIELDS: tuple[str, ...] = (
    "memory_gib",
    "memory_bandwidth_gbs",
    "fp32_tflops",
    "tf32_tensor_tflops",
    "fp16_tensor_tflops",
    "fp16_tensor_fp16acc_tflops",
    "bf16_tensor_tflops",
    "fp8_tensor_tflops",
    "int8_tensor_tops",
    "tdp_w",
    "pcie_gen",
    "nvlink_bandwidth_gbs",
    "release_year",
    "launch_price_usd",
)


def _tflops(upper: float) -> Any:
    return Field(default=None, gt=0, le=upper)


class Card(BaseModel):
    """One GPU model. Tensor figures are dense (no sparsity), in TFLOPS (TOPS for INT8)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=2, max_length=80)
    aliases: list[str] = []
    nvml_names: list[str] = Field(min_length=1)
    pci_device_ids: list[str] = []
    architecture: Architecture
    compute_capability: str
    memory_gib: float = Field(gt=0, le=1024)
    memory_type: str = Field(min_length=2, max_length=16)
    memory_bandwidth_gbs: float = Field(gt=0, le=20_000)
    fp32_tflops: float = Field(gt=0, le=500)
    tf32_tensor_tflops: float | None = _tflops(5_000)
    fp16_tensor_tflops: float | None = _tflops(10_000)
    fp16_tensor_fp16acc_tflops: float | None = _tflops(10_000)
    bf16_tensor_tflops: float | None = _tflops(10_000)
    fp8_tensor_tflops: float | None = _tflops(20_000)
    int8_tensor_tops: float | None = _tflops(20_000)
    tdp_w: int = Field(gt=0, le=3_000)
    pcie_gen: int = Field(ge=1, le=7)
    nvlink_bandwidth_gbs: float = Field(ge=0, le=20_000, description="0 = no NVLink")
    release_year: int = Field(ge=2010, le=2035)
    launch_price_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    segment: Segment
    form_factor: FormFactor = "pcie"
    cooling: Cooling = "open_air"
    slots: float | None = Field(default=None, gt=0, le=5)  # PCIe slot width of the reference design
    power_connectors: str | None = None  # "1x 16-pin (12VHPWR)", "2x 8-pin PCIe", "1x 8-pin EPS"
    psu_w: int | None = Field(default=None, gt=0, le=5_000)  # NVIDIA's recommended PSU (GeForce)
    sources: list[str] = Field(min_length=1)
    unconfirmed: list[str] = []
    notes: str = ""
    origin: str = Field(default="built-in", description="the file this card (or override) came from")

    @field_validator("compute_capability")
    @classmethod
    def _cc_format(cls, value: str) -> str:
        if not re.fullmatch(r"[1-9]\d?\.\d", value):
            raise ValueError(f"compute capability must look like '8.6', got {value!r}")
        return value

    @field_validator("pci_device_ids")
    @classmethod
    def _pci_format(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            if not re.fullmatch(r"0[xX][0-9a-fA-F]{4}", value):
                raise ValueError(f"PCI device id must look like '0x2204', got {value!r}")
            out.append("0x" + value[2:].upper())
        return out

    @field_validator("sources")
    @classmethod
    def _sources_nonblank(cls, values: list[str]) -> list[str]:
        if any(not v.strip() for v in values):
            raise ValueError("a source may not be blank")
        return values

    @model_validator(mode="after")
    def _consistent(self) -> Card:
        unknown = [f for f in self.unconfirmed if f not in type(self).model_fields]
        if unknown:
            raise ValueError(f"unconfirmed names unknown field(s): {', '.join(unknown)}")
        dense = self.fp16_tensor_tflops
        if dense is not None and dense < self.fp32_tflops * 0.5:
            raise ValueError(
                f"fp16_tensor_tflops {dense} is below half the FP32 rate {self.fp32_tflops}: "
                "a unit or column mix-up"
            )
        return self

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gib * GIB)

    @property
    def compute_capability_tuple(self) -> tuple[int, int]:
        major, minor = self.compute_capability.split(".")
        return int(major), int(minor)

    def tensor_tflops(self, dtype: str) -> float | None:
        """Dense tensor-core peak for training in ``dtype`` (fp32 means TF32 when present)."""
        return {
            "fp32": self.tf32_tensor_tflops or self.fp32_tflops,
            "tf32": self.tf32_tensor_tflops,
            "fp16": self.fp16_tensor_tflops,
            "bf16": self.bf16_tensor_tflops,
            "fp8": self.fp8_tensor_tflops,
            "int8": self.int8_tensor_tops,
        }.get(dtype)


class CardDatabase(BaseModel):
    """All cards known for this run, built-in first, then the user's."""

    model_config = ConfigDict(frozen=True)

    cards: tuple[Card, ...]
    files: tuple[str, ...] = ()

    def __iter__(self) -> Any:  # pragma: no cover - trivial
        return iter(self.cards)

    def __len__(self) -> int:
        return len(self.cards)


def builtin_cards_path() -> Path:
    return paths.data_dir() / "cards.yaml"


def user_cards_path() -> Path:
    return paths.config_dir() / "cards.yaml"


def load_cards(extra: Sequence[Path] = (), *, include_user_config: bool = True) -> CardDatabase:
    """Built-in cards, then ``<config dir>/cards.yaml`` if present, then each file in ``extra``."""
    builtin = builtin_cards_path()
    cards = _parse_file(builtin)
    files = [str(builtin)]
    layers = [user_cards_path()] if include_user_config and user_cards_path().is_file() else []
    layers.extend(extra)
    for path in layers:
        cards = _apply_user_file(cards, path)
        files.append(str(path))
    return CardDatabase(cards=tuple(cards), files=tuple(files))


def _raw_entries(path: Path) -> list[Any]:
    doc = read_mapping(path)
    unknown = sorted(set(doc) - {"schema_version", "cards"})
    if unknown:
        raise KnowledgeError(f"{path}: unknown top-level key(s): {', '.join(unknown)}")
    check_schema(path, doc, SCHEMA_VERSION)
    entries = doc.get("cards")
    if entries is None:
        raise KnowledgeError(f"{path}: no 'cards:' list")
    if not isinstance(entries, list):
        raise KnowledgeError(f"{path}: 'cards' must be a list, found {type(entries).__name__}")
    return entries


def _validate(path: Path, entry: Any, index: int) -> Card:
    label = entry_label(entry, index, "cards")
    if not isinstance(entry, dict):
        raise KnowledgeError(f"{path}: {label}: expected a mapping of fields")
    try:
        return Card.model_validate(entry)
    except ValidationError as exc:
        raise KnowledgeError(format_validation_error(path, label, exc)) from None


def _parse_file(path: Path) -> list[Card]:
    cards = [_validate(path, entry, i) for i, entry in enumerate(_raw_entries(path))]
    _check_unique(path, cards)
    return cards


def _apply_user_file(cards: list[Card], path: Path) -> list[Card]:
    by_key = {_key(c.name): i for i, c in enumerate(cards)}
    merged = list(cards)
    added: list[Card] = []
    for index, entry in enumerate(_raw_entries(path)):
        name = entry.get("name") if isinstance(entry, dict) else None
        target = by_key.get(_key(name)) if isinstance(name, str) else None
        if target is None:
            fields = {**entry, "origin": str(path)} if isinstance(entry, dict) else entry
            card = _validate(path, fields, index)
            added.append(card)
            continue
        base = merged[target].model_dump()
        base.update(entry)
        base["name"] = merged[target].name
        base["origin"] = f"{merged[target].origin} + {path}"
        merged[target] = _validate(path, base, index)
    result = merged + added
    _check_unique(path, result)
    return result


def _key(name: str | None) -> str:
    return " ".join((name or "").lower().split())


def _check_unique(path: Path, cards: Iterable[Card]) -> None:
    seen: dict[str, tuple[int, str]] = {}
    for position, card in enumerate(cards):
        keys = [("name", _key(n)) for n in (card.name, *card.aliases)]
        keys += [("nvml", _key(n)) for n in card.nvml_names]
        keys += [("pci", pci) for pci in card.pci_device_ids]
        for kind, key in keys:
            owner_at, owner = seen.get(f"{kind}:{key}", (position, card.name))
            if owner_at != position:
                what = {"name": "name or alias", "nvml": "NVML name", "pci": "PCI device id"}[kind]
                raise KnowledgeError(
                    f"{path}: cards ({card.name}): {what} {key!r} is already used by {owner!r}"
                )
            seen[f"{kind}:{key}"] = (position, card.name)
