"""`advisor rules`: every finding id with its rule; `advisor rules ID`: one explained."""

from __future__ import annotations

from pydantic import RootModel
from rich.console import Console
from rich.markup import escape

from advisor.compat.engine import RuleInfo
from advisor.compat.explain import IdExplanation
from advisor.render.fit import hanging

SEVERITY_POLICY = (
    "fail: the job as asked will not run on this machine, or its results cannot be trusted. "
    "warn: it runs, but slower, on less than the machine has, or a known trap is set. "
    "info: a fact worth knowing. ok: a check passed. --require-gpu makes a missing GPU, or no GPU "
    "with half its memory free, fail; --build-extensions makes a missing or mismatched nvcc fail."
)


def render_rules(console: Console, listed: RootModel[list[RuleInfo]]) -> None:
    """One block per rule: its id and what it checks, then each finding id it can give."""
    rules = listed.root
    width = max(len(e.id) for r in rules for e in r.emits) + 2
    for r in rules:
        hanging(console, f"[bold]{escape(r.id)}[/]" + ("  (each GPU)" if r.per_gpu else "") + "  ", "")
        hanging(console, "  ", escape(r.title))
        for e in r.emits:
            hanging(console, f"    {escape(e.id):<{width}}", "/".join(e.severities))
    console.print()
    hanging(console, "", escape("Severities: " + SEVERITY_POLICY))
    console.print("advisor rules ID explains one: what it means, why it matters, the fix, the error text.")


def render_explained(console: Console, found: RootModel[list[IdExplanation]]) -> None:
    for n, x in enumerate(found.root):
        if n:
            console.print()
        console.print(f"[bold]{escape(x.id)}[/] ({'/'.join(x.severities)})")
        label = 16
        hanging(console, f"{'rule':<{label}}", escape(f"{x.rule.id}: {x.rule.title}"))
        hanging(console, f"{'what it means':<{label}}", escape(x.means))
        hanging(console, f"{'why it matters':<{label}}", escape(x.matters))
        if x.fix:
            hanging(console, f"{'the fix':<{label}}", escape(x.fix))
        for t in x.error_texts:
            hanging(console, f"{'error text':<{label}}", escape(t.text))
            # the source on a line of its own, whole: a URL is to be opened
            console.print(" " * label + t.source, soft_wrap=True, markup=False, style="dim")
        if x.rule.needs:
            hanging(console, f"{'reads':<{label}}", escape(", ".join(x.rule.needs)))
        if x.explained_by:
            hanging(
                console,
                f"{'a symptom of':<{label}}",
                escape(", ".join(x.explained_by)) + " (when that is found, this one is not shown)",
            )
        if x.explains:
            hanging(console, f"{'explains':<{label}}", escape(", ".join(x.explains)))
        if x.siblings:
            hanging(console, f"{'same rule':<{label}}", escape(", ".join(x.siblings)))
