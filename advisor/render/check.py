"""The check report for people: the machine, the GPUs, the findings with their fixes."""

from __future__ import annotations

import shlex

from rich.console import Console
from rich.markup import escape

from advisor.compat.engine import CheckReport
from advisor.compat.findings import Finding
from advisor.render.fit import Column, hanging, print_fitted
from advisor.snapshot import Gpu, Snapshot

GIB = 1024**3
_MARK = {
    "fail": ("FAIL", "bold red"),
    "warn": ("WARN", "yellow"),
    "info": ("INFO", "cyan"),
    "ok": ("ok", "green"),
}


def _gib(n: int | None) -> str:
    return "-" if n is None else f"{n / GIB:.1f} GiB"


def cudnn_text(code: int) -> str:
    """torch.backends.cudnn.version(): 8902 is 8.9.2 (cuDNN 8), 91002 is 9.10.2 (cuDNN 9+)."""
    if code >= 10000:
        return f"{code // 10000}.{code // 100 % 100}.{code % 100}"
    return f"{code // 1000}.{code // 100 % 10}.{code % 100}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def machine_lines(snap: Snapshot) -> list[str]:
    h, n, t = snap.host, snap.nvml, snap.target
    cpu = f"{h.cpu_model or 'CPU ?'} ({h.cpu_cores or '?'} cores)"
    lines = [
        f"Host     {h.hostname or '?'} · {h.os or '?'} · kernel {h.kernel or '?'} · {cpu} · "
        f"{_gib(h.memory_total_bytes)} RAM"
        + (f" · {h.container} container" if h.container else "")
        + (f" · {h.wsl}" if h.wsl else "")
    ]
    if n.init_error:
        lines.append(f"Driver   not usable: {n.init_error} ({n.init_detail})")
    else:
        lines.append(
            f"Driver   {n.driver_version.value or '?'} · supports CUDA up to "
            f"{n.cuda_driver_version_text or '?'} · NVML {n.nvml_version.value or '?'}"
        )
    chosen = f", from {t.chosen_by}" if t.chosen_by else ""
    where = f"{t.executable} ({t.python_version or '?'}{chosen})"
    if t.status == "not_run":
        lines.append(f"Python   {t.executable} not checked (--no-python)")
    elif t.torch is not None:
        tv = t.torch
        cudnn = f", cuDNN {cudnn_text(tv.cudnn_version)}" if tv.cudnn_version else ""
        nccl = f", NCCL {tv.nccl_version}" if tv.nccl_version else ""
        build = f"CUDA {tv.cuda_version}{cudnn}{nccl}" if tv.cuda_version else "CPU-only build"
        archs = " ".join(tv.arch_list) or "-"
        lines.append(
            f"Python   {where} · torch {tv.version} ({build}) · archs {archs} · "
            f"cuda available: {tv.cuda_available}"
        )
    else:
        reason = t.torch_import_error or t.detail or t.status
        lines.append(f"Python   {where} · no torch: {reason}")
    env = t.environment
    if env is not None and (env.nvcc or t.torch is not None):
        nvcc = f"nvcc {env.nvcc_version or '?'} ({env.nvcc})" if env.nvcc else "no nvcc"
        home = f"CUDA_HOME={env.cuda_home}" if env.cuda_home else "CUDA_HOME unset"
        lines.append(f"Toolkit  {nvcc} · {home} · ninja {'yes' if env.ninja else 'no'}")
    if h.tegra_release:
        lines.append(f"Jetson   {h.tegra_release}")
    others = [
        f"{name} {fw.version}" + (f" (CUDA {fw.cuda_version})" if fw.cuda_version else "")
        for name, fw in (("TensorFlow", t.tensorflow), ("JAX", t.jax))
        if fw
    ]
    if others:
        lines.append("Also     " + " · ".join(others))
    return lines


def _gpu_columns(report: CheckReport) -> list[Column]:
    rows: list[list[str]] = []
    gpus = {g.index: g for g in report.snapshot.nvml.gpus}
    for row in report.gpus:
        gpu: Gpu = gpus[row.index]
        if row.status != "ok":
            rows.append([str(row.index), escape(row.name or "?"), f"[red]{row.status}[/]", "", "", ""])
            continue
        used, total = gpu.memory_used_bytes.value, gpu.memory_total_bytes.value
        power = (
            f"{gpu.power_draw_w.value:.0f}/{gpu.power_limit_w.value:.0f} W"
            if gpu.power_draw_w.value is not None and gpu.power_limit_w.value
            else "-"
        )
        link = (
            f"gen{gpu.pcie_gen_current.value} x{gpu.pcie_width_current.value}"
            if gpu.pcie_width_current.value
            else "-"
        )
        rows.append(
            [
                str(row.index),
                escape(row.name or "?"),
                f"{_gib(used)} / {_gib(total)}" if total else "-",
                f"{gpu.temperature_c.value} C" if gpu.temperature_c.value is not None else "-",
                power,
                link,
            ]
        )
    heads = [("#", 0), ("GPU", 0), ("memory used", 1), ("temp", 3), ("power", 2), ("PCIe", 4)]
    return [Column(h, p, cells=[r[i] for r in rows]) for i, (h, p) in enumerate(heads)]


def card_lines(report: CheckReport) -> list[str]:
    """The database card of each GPU model, once per model: 'GPU 0-3: GeForce RTX 3090 · ...'."""
    by_card: dict[str, list[int]] = {}
    cards = {}
    for row in report.gpus:
        if row.status == "ok":
            key = row.card.name if row.card else f"{row.name or '?'}: not in the card database"
            by_card.setdefault(key, []).append(row.index)
            cards[key] = row.card
    lines = []
    for key, indices in by_card.items():
        card = cards[key]
        which = f"GPU {indices[0]}" if len(indices) == 1 else f"GPUs {', '.join(map(str, indices))}"
        if card is None:
            lines.append(f"{which}: {key}")
            continue
        peak = card.fp16_tensor_tflops or card.fp32_tflops
        lines.append(
            f"{which}: {card.name} · {card.memory_gib:g} GB · {card.memory_bandwidth_gbs:g} GB/s · "
            f"{peak:g} TFLOPS {'FP16 tensor' if card.fp16_tensor_tflops else 'FP32'}"
        )
    return lines


def render_finding(console: Console, f: Finding) -> None:
    label, style = _MARK[f.severity]
    hanging(
        console, f"[{style}]{label:<4}[/] ", f"{escape(f.subject)}: {escape(f.summary)} [dim]\\[{f.id}][/]"
    )
    if f.severity == "ok" or f.id == "gpu-features":  # the summary says it all
        return
    for line in f.evidence:
        if line:
            hanging(console, "     why:   ", escape(line))
    if f.error_text:
        hanging(console, "     error: ", escape(f.error_text))
    if f.fix:
        hanging(console, "     fix:   ", f"[bold]{escape(f.fix)}[/]")
    # each command on a line of its own and never wrapped: a command broken over two lines pastes wrong
    for command in (f.fix_command, f.fix_alternative):
        if command:
            console.print("     $ " + escape(shlex.join(command)), soft_wrap=True, highlight=False)


def same_line_groups(findings: list[Finding]) -> list[tuple[Finding, list[str]]]:
    """Passed findings that say the same of several GPUs, shown once with every subject."""
    groups: list[tuple[Finding, list[str]]] = []
    for f in findings:
        for first, subjects in groups:
            if first.id == f.id and first.summary == f.summary and f.severity == "ok":
                subjects.append(f.subject)
                break
        else:
            groups.append((f, [f.subject]))
    return groups


def not_checked_lines(report: CheckReport) -> list[str]:
    """One line per reason: '<why>: ecc-errors (GPU 0, GPU 1), memory-held (GPU 0)'."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for o in report.outcomes:
        if o.status == "not_checked":
            grouped.setdefault(o.reason or "?", {}).setdefault(o.rule, []).append(o.subject)
    return [
        f"{reason}: "
        + ", ".join(
            rule + ("" if subjects == ["machine"] else f" ({', '.join(subjects)})")
            for rule, subjects in rules.items()
        )
        for reason, rules in grouped.items()
    ]


def render_check(console: Console, report: CheckReport) -> None:
    for line in machine_lines(report.snapshot):
        hanging(console, escape(line[:9]), escape(line[9:]))
    if report.gpus:
        console.print()
        print_fitted(console, _gpu_columns(report), wide=False, hint="advisor probe --json has them")
        for line in card_lines(report):
            console.print(escape(line))
        pairs = report.snapshot.nvml.pairs
        if pairs:
            console.print(
                "Topology: "
                + escape(" · ".join(f"{p.a}-{p.b} {p.topology.value or p.topology.why()}" for p in pairs))
            )
    heading = {"fail": "Failures", "warn": "Warnings", "info": "Notes", "ok": "Passed"}
    shown = None
    for f, subjects in same_line_groups(report.findings):  # sorted by severity: one heading each
        if f.severity != shown:
            shown = f.severity
            console.print()
            console.print(f"[bold]{heading[f.severity]}[/]")
        render_finding(
            console, f if len(subjects) == 1 else f.model_copy(update={"subject": ", ".join(subjects)})
        )
    with_finding = {(f.id, f.subject) for f in report.findings}
    quiet = sorted(
        {o.rule for o in report.outcomes if o.status == "passed" and (o.rule, o.subject) not in with_finding}
        - {f.id for f in report.findings}
    )
    if quiet:
        if shown != "ok":
            console.print()
            console.print("[bold]Passed[/]")
        hanging(console, "[green]ok[/]   also: ", escape(", ".join(quiet)))
    unchecked = not_checked_lines(report)
    if unchecked:
        console.print()
        console.print("[bold]Not checked[/] (could not be read)")
        for line in unchecked:
            hanging(console, "skip ", escape(line))
    if report.capabilities:
        from advisor.render.recommend import capability_lines

        console.print()
        console.print(f"What one {escape(report.capabilities_card or 'GPU')} can do:")
        for line in capability_lines(report.capabilities):
            console.print(f"  {escape(line)}")
        console.print(
            "  (advisor estimate MODEL for a given job; advisor recommend MODEL for what to buy or rent)"
        )
    c = report.counts
    console.print()
    console.print(
        f"{c['fail']} failed, {_plural(c['warn'], 'warning')}, "
        f"{_plural(c['info'], 'note')}, {c['ok']} ok"
        + (f", {c['not_checked']} not checked" if c.get("not_checked") else "")
        + f" — exit code {report.exit_code}"
    )


def render_snapshot(console: Console, snap: Snapshot) -> None:
    for line in machine_lines(snap):
        console.print(escape(line))
    for gpu in snap.nvml.gpus:
        console.print(
            f"GPU {gpu.index}  {escape(gpu.name.value or '?')} · {gpu.status} · "
            f"CC {gpu.compute_capability.value or '?'} · {_gib(gpu.memory_total_bytes.value)}"
        )
    console.print(
        "advisor probe --json > box.json records all of it; "
        "advisor check --snapshot box.json diagnoses it anywhere."
    )
