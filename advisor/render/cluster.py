"""The cluster report: one row per node, the findings, the bandwidth curve."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor.cluster.report import ClusterReport
from advisor.render.check import render_finding


def render_cluster(console: Console, r: ClusterReport) -> None:
    console.print(f"{r.world_size} ranks on {len(r.nodes)} node(s) reporting, backend {r.backend}")
    nodes = Table(header_style="bold", box=None)
    for col in ("node", "host", "ranks", "driver", "CUDA", "torch", "NCCL", "GPUs", "check"):
        nodes.add_column(col)
    for n in r.nodes:
        s = n.snapshot
        t = s.target.torch if s else None
        gpus = ", ".join(sorted({g.name.value or "?" for g in s.nvml.gpus})) if s else "-"
        nodes.add_row(
            str(n.node_rank),
            escape(n.hostname),
            ",".join(map(str, n.ranks)),
            (s.nvml.driver_version.value or s.nvml.init_error or "-") if s else "-",
            (s.nvml.cuda_driver_version_text or "-") if s else "-",
            t.version if t else "-",
            (t.nccl_version or "-") if t else "-",
            f"{len(s.nvml.gpus)} {escape(gpus)}" if s else "-",
            "fail" if n.exit_code else "ok",
        )
    console.print(nodes)
    if r.collectives:
        bw = Table(
            title="Collectives (nccl-tests definitions)", title_justify="left", header_style="bold", box=None
        )
        for col in ("op", "size", "time", "algbw GB/s", "busbw GB/s"):
            bw.add_column(col, justify="right")
        for c in r.collectives:
            size = f"{c.bytes / 1024:.0f} KiB" if c.bytes < 1 << 20 else f"{c.bytes / 2**20:.0f} MiB"
            bw.add_row(c.op, size, f"{c.seconds * 1e6:,.0f} us", f"{c.algbw_gbs:.3f}", f"{c.busbw_gbs:.3f}")
        console.print(bw)
    for link in r.links:
        console.print(
            f"rank 0 <-> rank {link.rank} ({escape(link.hostname)}): "
            f"{link.gbs:.3f} GB/s for {link.bytes / 2**20:.0f} MiB messages"
        )
    console.print()
    for f in r.findings:
        render_finding(console, f)
    for n in r.nodes:
        for f in n.findings:
            if f.severity in ("fail", "warn"):
                render_finding(console, f.model_copy(update={"subject": f"node {n.node_rank}: {f.subject}"}))
    console.print(f"exit code {r.exit_code}")
