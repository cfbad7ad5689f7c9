"""Run every rule over a snapshot and assemble the check report (pure).

For each rule (and, for per-GPU rules, each GPU that answers) the engine asks the rule's needs,
runs it only when they are met, and records the outcome: found, passed, not checked (why), not
applicable (why), or explained (a more specific cause it declared was found, so its finding is a
symptom of that one and is dropped).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from advisor.capability import Capability

# Importing the rule modules registers their rules, in report order.
from advisor.compat import (
    rules_driver,
    rules_framework,
    rules_hardware,
    rules_install,
    rules_libraries,
    rules_platform,
    rules_startup,
    rules_usage,
)
from advisor.compat.findings import RULES as _REGISTERED
from advisor.compat.findings import SEVERITY_ORDER, Facts, Finding, Rule, Severity, Skip
from advisor.compat.needs import NVML
from advisor.knowledge.cards import Card
from advisor.knowledge.compat import CompatKnowledge
from advisor.knowledge.match import match_nvml
from advisor.snapshot import Gpu, Snapshot

# Report order: the driver, CUDA start-up, the Python and its torch, the GPUs, libraries, platform.
_MODULES = (
    rules_driver,
    rules_startup,
    rules_install,
    rules_framework,
    rules_hardware,
    rules_usage,
    rules_libraries,
    rules_platform,
)
_ORDER = [m.__name__ for m in _MODULES]
RULES = sorted(_REGISTERED, key=lambda r: _ORDER.index(r.module))
MACHINE = "machine"

OutcomeStatus = Literal["found", "passed", "not_checked", "not_applicable", "explained"]


class GpuRow(BaseModel):
    """One GPU as the report shows it, matched to the card database."""

    model_config = ConfigDict(frozen=True)

    index: int
    name: str | None
    status: str
    card: Card | None = None


class EmitInfo(BaseModel):
    id: str
    severities: list[Severity]
    explained_by: list[str] = []


class RuleInfo(BaseModel):
    id: str
    title: str
    per_gpu: bool
    needs: list[str]
    emits: list[EmitInfo]


class Outcome(BaseModel):
    """What one rule concluded about one subject (the machine, or one GPU)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    subject: str
    status: OutcomeStatus
    reason: str | None = None
    findings: list[str] = []


class CheckReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    snapshot: Snapshot
    gpus: list[GpuRow]
    findings: list[Finding]
    outcomes: list[Outcome]
    counts: dict[str, int]
    exit_code: int
    capabilities_card: str | None = None
    capabilities: list[Capability] = []


class UndeclaredFinding(RuntimeError):
    """A rule emitted an id or severity it did not declare: a bug in advisor, not the machine."""


def rule_list() -> list[RuleInfo]:
    return [
        RuleInfo(
            id=r.id,
            title=r.title,
            per_gpu=r.per_gpu,
            needs=[n.name for n in r.needs],
            emits=[
                EmitInfo(id=i, severities=list(e.severities), explained_by=list(e.explained_by))
                for i, e in r.emits.items()
            ],
        )
        for r in RULES
    ]


def _run(rule: Rule, facts: Facts, gpu: Gpu | None) -> list[Finding] | Skip:
    for need in rule.needs:
        skip = need.ask(facts, gpu)
        if skip is not None:
            return skip
    if gpu is None:
        assert rule.check is not None
        result = rule.check(facts)
    else:
        assert rule.check_gpu is not None
        result = rule.check_gpu(facts, gpu)
    if isinstance(result, Skip):
        return result
    for f in result:
        declared = rule.emits.get(f.id)
        if declared is None or f.severity not in declared.severities:
            raise UndeclaredFinding(
                f"rule {rule.id} emitted {f.id} ({f.severity}), which it does not declare"
            )
    return result


def _subjects(rule: Rule, facts: Facts) -> list[tuple[Gpu | None, str]]:
    if not rule.per_gpu:
        return [(None, MACHINE)]
    return [(g, g.label) for g in facts.snapshot.nvml.gpus]


def diagnose(
    snapshot: Snapshot,
    compat: CompatKnowledge,
    cards: tuple[Card, ...],
    *,
    require_gpu: bool = False,
    build_extensions: bool = False,
    skip: Mapping[str, Skip] | None = None,
    unknowable: frozenset[str] = frozenset(),
) -> CheckReport:
    """``skip``: rules not to run, with why (a pasted report that does not show what they read);
    ``unknowable``: finding ids whose facts the snapshot cannot hold (dropped where emitted)."""
    matched = {
        g.index: match_nvml(g.name.value, g.pci_device_id.value, cards) if g.name.value else None
        for g in snapshot.nvml.gpus
    }
    facts = Facts(
        snapshot=snapshot,
        compat=compat,
        cards=matched,
        bus_cards={p.address: match_nvml("", p.device_id, cards) for p in snapshot.host.pci_nvidia},
        require_gpu=require_gpu,
        build_extensions=build_extensions,
    )
    ran: list[tuple[Rule, str, list[Finding] | Skip]] = []
    for r in RULES:
        if skip and r.id in skip:
            ran.append((r, MACHINE, skip[r.id]))
            continue
        if r.per_gpu and not snapshot.nvml.gpus:
            ran.append((r, MACHINE, NVML.ask(facts, None) or Skip("not_applicable", "NVML reports no GPU")))
            continue
        for gpu, subject in _subjects(r, facts):
            if gpu is not None and gpu.status != "ok":
                ran.append(
                    (r, subject, Skip("not_checked", f"GPU {gpu.index} does not answer ({gpu.status})"))
                )
                continue
            result = _run(r, facts, gpu)
            if unknowable and not isinstance(result, Skip):
                result = [f for f in result if f.id not in unknowable]
            ran.append((r, subject, result))

    problems = {
        f.id for _, _, res in ran if not isinstance(res, Skip) for f in res if f.severity in ("fail", "warn")
    }
    findings: list[Finding] = []
    outcomes: list[Outcome] = []
    for r, subject, res in ran:
        if isinstance(res, Skip):
            outcomes.append(Outcome(rule=r.id, subject=subject, status=res.status, reason=res.reason))
            continue
        kept: list[tuple[Finding, list[str]]] = []
        explained: list[tuple[Finding, list[str]]] = []
        for f in res:
            causes = [c for c in r.emits[f.id].explained_by if c in problems]
            (explained if causes else kept).append((f, causes))
        findings += [f for f, _ in kept]
        found = [f.id for f, _ in kept if f.severity != "ok"]
        if found:
            outcomes.append(Outcome(rule=r.id, subject=subject, status="found", findings=found))
        elif explained:
            causes = sorted({c for _, cs in explained for c in cs})
            outcomes.append(
                Outcome(
                    rule=r.id,
                    subject=subject,
                    status="explained",
                    reason="a symptom of " + ", ".join(causes),
                    findings=[f.id for f, _ in explained],
                )
            )
        else:
            outcomes.append(Outcome(rule=r.id, subject=subject, status="passed"))

    findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])  # stable: rule order within a severity
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITY_ORDER}
    counts["not_checked"] = sum(1 for o in outcomes if o.status == "not_checked")
    rows = [
        GpuRow(index=g.index, name=g.name.value, status=g.status, card=matched.get(g.index))
        for g in snapshot.nvml.gpus
    ]
    return CheckReport(
        snapshot=snapshot,
        gpus=rows,
        findings=findings,
        outcomes=outcomes,
        counts=counts,
        exit_code=1 if counts["fail"] else 0,
    )
