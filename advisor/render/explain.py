"""`advisor explain` for people: what the text showed, the findings, what to paste next."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from advisor.paste.report import ExplainReport
from advisor.render.check import not_checked_lines, render_finding, same_line_groups
from advisor.render.fit import hanging

_HEADING = {"fail": "Failures", "warn": "Warnings", "info": "Notes", "ok": "Consistent with the report"}


def render_explain(console: Console, r: ExplainReport, verbose: bool = False) -> None:
    unread = len([line for line in r.unparsed if line.strip()])
    more = "" if verbose else " (--verbose shows them)"
    tail = f" · {unread} line{'s' if unread != 1 else ''} not understood{more}" if unread else ""
    hanging(console, "Read     ", escape(", ".join(r.read) + tail))
    width = max((len(k) for k in [*r.facts, *(i.fact for i in r.inferred)]), default=0) + 2
    for key, value in r.facts.items():
        hanging(console, f"  {escape(key):<{width}}", escape(value))
    for i in r.inferred:
        hanging(console, f"  {escape(i.fact):<{width}}", escape(f"{i.value} (inferred: {i.source})"))
    shown = None
    for f, subjects in same_line_groups(r.check.findings):
        if f.severity != shown:
            shown = f.severity
            console.print()
            console.print(f"[bold]{_HEADING[f.severity]}[/]")
        render_finding(
            console, f if len(subjects) == 1 else f.model_copy(update={"subject": ", ".join(subjects)})
        )
    lines = not_checked_lines(r.check)
    # NVML and host readings a report never holds: one line, not one per reading
    probed = [line for line in lines if "was not read" in line or "not_probed" in line]
    unchecked = [line for line in lines if line not in probed]
    if unchecked or probed:
        console.print()
        console.print("[bold]Not checked[/] (the text does not show it)")
        for line in unchecked:
            hanging(console, "skip ", escape(line))
        if probed:
            hanging(
                console,
                "skip ",
                f"{len(probed)} more that read the machine itself (PCIe, clocks, ECC, modules: "
                "nvidia-smi -q, advisor probe --json)",
            )
    if r.settle:
        console.print()
        console.print("To settle the rest, ask for the output of:")
        for command in r.settle:
            console.print(f"     $ {command}", soft_wrap=True, markup=False, highlight=False)
    if verbose and unread:
        console.print()
        console.print("[bold]Lines not understood[/]")
        for line in r.unparsed:
            if line.strip():
                console.print(f"  {line}", markup=False, soft_wrap=True)
    c = r.check.counts
    console.print()
    console.print(f"{c['fail']} failed, {c['warn']} warnings, {c['info']} notes — exit code {r.exit_code}")
