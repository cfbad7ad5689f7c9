"""advisor's speed model against published measurements (data/benchmarks.yaml), set by set.

Each set is one publisher's measurement of one workload on many cards. advisor predicts the same
workload on each card; sets are compared relative to their reference card (so one set's software
and batch choices cancel out) and, for decode, also in absolute tokens/s. Used by
tests/test_speed_vs_published.py and benchmarks/speed_vs_published.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from advisor import paths
from advisor.estimate.job import Job
from advisor.estimate.report import estimate
from advisor.knowledge.cards import Card, load_cards
from advisor.knowledge.models import resolve_model

WITHIN = 0.25  # the bar: a card's predicted ratio within 25% of the measured one


@cache
def cards() -> dict[str, Card]:
    return {c.name: c for c in load_cards(include_user_config=False).cards}


@cache
def _doc() -> tuple[dict[str, Any], ...]:
    doc = yaml.safe_load((paths.data_dir() / "benchmarks.yaml").read_text(encoding="utf-8"))
    return tuple(doc["sets"])


def sets(role: str | None = None, workload: str | None = None) -> list[dict[str, Any]]:
    return [
        s
        for s in _doc()
        if (role is None or s["role"] == role) and (workload is None or s["workload"] == workload)
    ]


def predict(s: dict[str, Any], card: str) -> float:
    """advisor's speed for the set's workload on ``card``, in the set's unit."""
    model = resolve_model(s.get("model", "bert-large-uncased"))
    w = s["workload"]
    if w == "bert-train":
        job = Job(task="train", precision=s["precision"], batch=16, seq=s["seq"])
    elif w == "resnet50-train":
        job = Job(task="train", precision=s["precision"], batch=s["batch"])
    elif w == "llm-decode":
        job = Job(task="inference", precision=s["precision"], batch=1, seq=s["seq"])
    elif w == "sd-unet":
        # one denoising step of ``batch`` images runs the UNet on 2 x batch latents
        # (classifier-free guidance: the conditional and the unconditional pass)
        job = Job(task="inference", precision=s["precision"], batch=2 * s["batch"])
    else:
        raise ValueError(f"unknown workload {w!r}")
    r = estimate(model, job, cards()[card])
    sp = r.speed
    assert sp is not None and not sp.unavailable, (s["name"], card, sp)
    if w == "bert-train":
        return float(sp.tokens_per_second or 0)
    if w == "llm-decode":
        return float(sp.decode_tokens_per_second or 0)
    samples = float(sp.samples_per_second or 0)
    return samples / (2 * s["batch"]) if w == "sd-unet" else samples


@dataclass(frozen=True)
class Compared:
    name: str
    role: str
    workload: str
    cards: list[str]
    measured: list[float]  # relative to the reference card
    predicted: list[float]
    absolute: list[float]  # predicted / measured, in the set's own unit

    @property
    def spearman(self) -> float:
        return spearman(self.measured, self.predicted)

    @property
    def within(self) -> float:
        """Share of cards whose relative speed is within WITHIN of the measured one."""
        ok = [abs(p / m - 1) <= WITHIN for m, p in zip(self.measured, self.predicted, strict=True)]
        return sum(ok) / len(ok)


def compare(s: dict[str, Any]) -> Compared:
    ref = s["reference"]
    names = list(s["results"])
    raw = {c: predict(s, c) for c in names}
    measured = [s["results"][c] / s["results"][ref] for c in names]
    predicted = [raw[c] / raw[ref] for c in names]
    absolute = [raw[c] / s["results"][c] for c in names]
    return Compared(s["name"], s["role"], s["workload"], names, measured, predicted, absolute)


def spearman(a: list[float], b: list[float]) -> float:
    def ranks(v: list[float]) -> list[float]:
        """Ranks from 0, ties sharing their average rank (values within 0.5 % count as tied)."""
        order = sorted(range(len(v)), key=lambda i: v[i])
        out = [0.0] * len(v)
        start = 0
        while start < len(order):
            end = start
            while end + 1 < len(order) and v[order[end + 1]] <= v[order[start]] * 1.005:
                end += 1
            for k in range(start, end + 1):
                out[order[k]] = (start + end) / 2
            start = end + 1
        return out

    ra, rb = ranks(a), ranks(b)
    if len(a) < 2:
        return 1.0
    # Pearson correlation of the ranks (Spearman's rho, correct with ties)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    var = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return cov / var if var else 1.0
