"""`advisor rules ID`: one finding id (or rule) explained from the rule registry, the finding
docs and the upstream messages (pure: the knowledge comes in as arguments)."""

from __future__ import annotations

import difflib
import string

from pydantic import BaseModel

from advisor.compat.engine import RuleInfo, rule_list
from advisor.errors import AdvisorError
from advisor.knowledge.compat import CompatKnowledge
from advisor.knowledge.finding_docs import FindingDoc


class UpstreamText(BaseModel):
    text: str
    source: str


class IdExplanation(BaseModel):
    """One finding id: what the rule behind it checks, what it means, what to do."""

    id: str
    rule: RuleInfo
    severities: list[str]
    means: str
    matters: str
    fix: str | None = None
    error_texts: list[UpstreamText] = []
    explained_by: list[str] = []  # found, these make this one a symptom (it is dropped)
    explains: list[str] = []  # this one, found, makes those symptoms
    siblings: list[str] = []  # the other ids of the same rule


def _ids(rules: list[RuleInfo]) -> dict[str, RuleInfo]:
    return {e.id: r for r in rules for e in r.emits}


def explain(key: str, docs: dict[str, FindingDoc], compat: CompatKnowledge) -> list[IdExplanation]:
    """The finding id ``key``; or, for a rule id that is no finding id, each id of that rule."""
    rules = rule_list()
    by_id = _ids(rules)
    wanted = key.strip().strip("[]").lower()
    if wanted in by_id:
        ids = [wanted]
    else:
        rule = next((r for r in rules if r.id == wanted), None)
        if rule is None:
            names = sorted({*by_id, *(r.id for r in rules)})
            close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else "; advisor rules lists them"
            raise AdvisorError(f"no finding id or rule {key!r}{hint}")
        ids = [e.id for e in rule.emits]
    return [_one(i, by_id[i], docs, compat, rules) for i in ids]


def _placeholders(text: str) -> str:
    """An upstream text with its blanks named: "(found version <found>)"."""
    names = [field for _, field, _, _ in string.Formatter().parse(text) if field]
    return text.format(**{n: f"<{n}>" for n in names})


def _one(
    finding_id: str,
    rule: RuleInfo,
    docs: dict[str, FindingDoc],
    compat: CompatKnowledge,
    rules: list[RuleInfo],
) -> IdExplanation:
    doc = docs.get(finding_id)
    if doc is None:  # every id has a doc (a test holds it); a user's older data dir may not
        raise AdvisorError(f"{finding_id} has no entry in data/findings.yaml")
    emit = next(e for e in rule.emits if e.id == finding_id)
    said = [compat.messages[k] for k in doc.messages]
    texts = [UpstreamText(text=_placeholders(m.text), source=m.source) for m in said]
    texts += [UpstreamText(text=t, source=doc.source or "") for t in doc.texts]
    return IdExplanation(
        id=finding_id,
        rule=rule,
        severities=list(emit.severities),
        means=doc.means,
        matters=doc.matters,
        fix=doc.fix,
        error_texts=texts,
        explained_by=list(emit.explained_by),
        explains=sorted({e.id for r in rules for e in r.emits if finding_id in e.explained_by}),
        siblings=[e.id for e in rule.emits if e.id != finding_id],
    )
