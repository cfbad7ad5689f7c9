"""Run every rule over a snapshot and assemble the check report (pure)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# Importing the rule modules registers their rules, in report order.
from advisor.compat import (
    rules_deep,
    rules_driver,
    rules_framework,
    rules_hardware,
)
from advisor.compat.findings import RULES as _REGISTERED
from advisor.compat.findings import SEVERITY_ORDER, Facts, Finding
from advisor.knowledge.cards import Card
from advisor.knowledge.compat import CompatKnowledge
from advisor.knowledge.match import match_nvml
from advisor.recommend import Capability
from advisor.snapshot import Snapshot

# Report order: the driver first, then the framework, the hardware, the deeper checks.
_ORDER = [m.__name__ for m in (rules_driver, rules_framework, rules_hardware, rules_deep)]
RULES = sorted(_REGISTERED, key=lambda r: _ORDER.index(r.module))


class GpuRow(BaseModel):
    """One GPU as the report shows it, matched to the card database."""

    model_config = ConfigDict(frozen=True)

    index: int
    name: str | None
    status: str
    card: Card | None = None


class RuleInfo(BaseModel):
    id: str
    title: str


class CheckReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    snapshot: Snapshot
    gpus: list[GpuRow]
    findings: list[Finding]
    counts: dict[str, int]
    exit_code: int
    capabilities_card: str | None = None
    capabilities: list[Capability] = []


def rule_list() -> list[RuleInfo]:
    return [RuleInfo(id=r.id, title=r.title) for r in RULES]


def diagnose(
    snapshot: Snapshot,
    compat: CompatKnowledge,
    cards: tuple[Card, ...],
    *,
    require_gpu: bool = False,
) -> CheckReport:
    matched = {
        g.index: match_nvml(g.name.value, g.pci_device_id.value, cards) if g.name.value else None
        for g in snapshot.nvml.gpus
    }
    facts = Facts(snapshot=snapshot, compat=compat, cards=matched, require_gpu=require_gpu)
    findings = [f for r in RULES for f in r.check(facts)]
    findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])  # stable: rule order within a severity
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_ORDER}
    rows = [
        GpuRow(index=g.index, name=g.name.value, status=g.status, card=matched.get(g.index))
        for g in snapshot.nvml.gpus
    ]
    return CheckReport(
        snapshot=snapshot,
        gpus=rows,
        findings=findings,
        counts=counts,
        exit_code=1 if counts["fail"] else 0,
    )
