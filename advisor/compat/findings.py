"""Findings, the unit of diagnosis, and the rule registry.

A rule declares the facts it needs and the finding ids it may emit. The engine (engine.py) asks
the needs before it runs the rule, so each rule ends in one of four outcomes: **found** (it emitted
a problem), **passed**, **not checked** (a fact it needs could not be read, with the reason) or
**not applicable** (there is nothing of that kind on this machine). A rule that cannot read its
inputs never looks like a healthy machine.

Severity policy (what a preflight `advisor check && python train.py` can trust):
- fail: the job as asked will not run on this machine, or its results cannot be trusted.
- warn: it runs, but slower, on less than the machine has, or a known trap is set.
- info: a fact worth knowing; nothing to fix.
- ok:   a check passed.
Options move a finding up when the user says it matters: --require-gpu (no usable GPU, or no GPU
with half its memory free, fails) and --build-extensions (a toolkit that cannot build CUDA
extensions fails).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from advisor.knowledge.cards import Card
    from advisor.knowledge.compat import CompatKnowledge
    from advisor.snapshot import Gpu, Snapshot

Severity = Literal["ok", "info", "warn", "fail"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
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
    fix: str | None = None  # what to do, in words
    # the command to run, as argv (printed on its own line, never wrapped; shlex.join for a shell)
    fix_command: list[str] | None = None
    fix_alternative: list[str] | None = None  # the other way out, when the fix offers one

    def full_fix(self) -> str:
        """The fix as a reader sees it: the words, then the command quoted for a shell."""
        import shlex

        commands = [shlex.join(c) for c in (self.fix_command, self.fix_alternative) if c]
        return " ".join(part for part in (self.fix or "", *commands) if part)


@dataclass(frozen=True)
class Facts:
    """Everything a rule may look at. Built once per check; rules never do I/O."""

    snapshot: Snapshot
    compat: CompatKnowledge
    cards: dict[int, Card | None] = field(default_factory=dict)  # GPU index -> matched card
    bus_cards: dict[str, Card | None] = field(default_factory=dict)  # PCI address -> card, by device id
    require_gpu: bool = False
    build_extensions: bool = False

    @property
    def healthy_gpus(self) -> list[Gpu]:
        return [g for g in self.snapshot.nvml.gpus if g.status == "ok"]

    @property
    def python_cmd(self) -> str:
        """The target interpreter, quoted for a shell (paths with spaces exist)."""
        return shlex.quote(self.snapshot.target.executable)


@dataclass(frozen=True)
class Skip:
    """Returned instead of findings: the rule could not check, or had nothing to check."""

    status: Literal["not_checked", "not_applicable"]
    reason: str


@dataclass(frozen=True)
class Emit:
    """A finding id a rule may emit: its possible severities, and the more specific causes that,
    when found, explain it (the engine then drops it as a symptom of that cause)."""

    severities: tuple[Severity, ...]
    explained_by: tuple[str, ...] = ()


# A need: a fact a rule reads, asked before the rule runs. It answers None when the fact is there,
# else a Skip that says why not. Per-GPU needs get the GPU; global ones get None.
NeedFn = Callable[["Facts", "Gpu | None"], Skip | None]


@dataclass(frozen=True)
class Need:
    name: str
    ask: NeedFn


Result = list[Finding] | Skip
GlobalFn = Callable[[Facts], Result]
GpuFn = Callable[[Facts, "Gpu"], Result]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    needs: tuple[Need, ...]
    emits: Mapping[str, Emit]
    check: GlobalFn | None = None
    check_gpu: GpuFn | None = None

    @property
    def per_gpu(self) -> bool:
        return self.check_gpu is not None

    @property
    def module(self) -> str:
        fn = self.check or self.check_gpu
        assert fn is not None
        return fn.__module__


RULES: list[Rule] = []

EmitSpec = Severity | tuple[Severity, ...] | Emit


def _emits(rule_id: str, spec: Mapping[str, EmitSpec]) -> dict[str, Emit]:
    out: dict[str, Emit] = {}
    for finding_id, value in spec.items():
        if isinstance(value, Emit):
            out[finding_id] = value
        else:
            out[finding_id] = Emit((value,) if isinstance(value, str) else tuple(value))
        if "ok" in out[finding_id].severities and finding_id != rule_id:
            # A passed check is named by its rule, never by the failure it did not find.
            raise ValueError(f"rule {rule_id}: an ok finding must carry the rule's id, not {finding_id}")
    return out


def rule(
    rule_id: str, title: str, *, needs: tuple[Need, ...] = (), emits: Mapping[str, EmitSpec]
) -> Callable[[GlobalFn], GlobalFn]:
    """Register a rule over the whole machine."""

    def register(fn: GlobalFn) -> GlobalFn:
        RULES.append(Rule(rule_id, title, needs, _emits(rule_id, emits), check=fn))
        return fn

    return register


def gpu_rule(
    rule_id: str, title: str, *, needs: tuple[Need, ...] = (), emits: Mapping[str, EmitSpec]
) -> Callable[[GpuFn], GpuFn]:
    """Register a rule the engine runs once for each GPU that answers."""

    def register(fn: GpuFn) -> GpuFn:
        RULES.append(Rule(rule_id, title, needs, _emits(rule_id, emits), check_gpu=fn))
        return fn

    return register
