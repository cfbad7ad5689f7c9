"""Findings, the unit of diagnosis, and the rule registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from advisor.knowledge.cards import Card
    from advisor.knowledge.compat import CompatKnowledge
    from advisor.snapshot import Gpu, Snapshot

Severity = Literal["ok", "info", "warn", "fail"]
SEVERITY_ORDER: dict[str, int] = {"fail": 0, "warn": 1, "info": 2, "ok": 3}


class Finding(BaseModel):
    """What is wrong (or right), why (the facts compared), and the fix."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    severity: Severity
    subject: str  # "driver", "torch", "GPU 0 (NVIDIA GeForce RTX 3090)", "host"
    summary: str
    evidence: list[str] = []
    error_text: str | None = None  # the exact message users meet, so the report is searchable
    fix: str | None = None


@dataclass(frozen=True)
class Facts:
    """Everything a rule may look at. Built once per check; rules never do I/O."""

    snapshot: Snapshot
    compat: CompatKnowledge
    cards: dict[int, Card | None] = field(default_factory=dict)  # GPU index -> matched card
    require_gpu: bool = False

    @property
    def healthy_gpus(self) -> list[Gpu]:
        return [g for g in self.snapshot.nvml.gpus if g.status == "ok"]

    @property
    def python_cmd(self) -> str:
        """The target interpreter, quoted for a shell (paths with spaces exist)."""
        import shlex

        return shlex.quote(self.snapshot.target.executable)


RuleFn = Callable[[Facts], list[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    check: RuleFn

    @property
    def module(self) -> str:
        return self.check.__module__


RULES: list[Rule] = []


def rule(rule_id: str, title: str) -> Callable[[RuleFn], RuleFn]:
    """Register a rule. Its findings use ``rule_id`` or ids that start with it."""

    def register(fn: RuleFn) -> RuleFn:
        RULES.append(Rule(rule_id, title, fn))
        return fn

    return register
