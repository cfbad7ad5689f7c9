"""Cluster results as data, and the rules that compare nodes (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from advisor.compat.engine import diagnose
from advisor.compat.findings import Finding
from advisor.knowledge.cards import Card
from advisor.knowledge.compat import CompatKnowledge
from advisor.snapshot import Snapshot


class Node(BaseModel):
    model_config = ConfigDict(frozen=True)

    node_rank: int
    hostname: str
    ranks: list[int]
    snapshot: Snapshot | None = None
    findings: list[Finding] = []
    exit_code: int = 0


class Collective(BaseModel):
    """One collective at one message size, with nccl-tests' definitions of bandwidth.

    algbw = bytes / time. busbw = algbw x 2(n-1)/n for all_reduce, x (n-1)/n for all_gather,
    where bytes is the size of the (full) result buffer.
    """

    model_config = ConfigDict(frozen=True)

    op: str
    bytes: int
    seconds: float
    algbw_gbs: float
    busbw_gbs: float


class Link(BaseModel):
    """Rank 0 <-> one rank: round-trip of a message, both directions."""

    model_config = ConfigDict(frozen=True)

    rank: int
    hostname: str
    bytes: int
    seconds: float
    gbs: float


class ClusterReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    backend: str
    world_size: int
    joined: list[int]
    nodes: list[Node]
    collectives: list[Collective] = []
    links: list[Link] = []
    findings: list[Finding] = []
    exit_code: int = 0


def busbw(op: str, algbw: float, n: int) -> float:
    factor = {"all_reduce": 2 * (n - 1) / n, "all_gather": (n - 1) / n}.get(op, 1.0)
    return algbw * factor


# --- rules across nodes -----------------------------------------------------------------------


def _value(snap: Snapshot | None, get: Callable[[Snapshot], object]) -> str | None:
    if snap is None:
        return None
    try:
        value = get(snap)
    except (AttributeError, TypeError):
        return None
    return None if value is None else str(value)


FACTS: list[tuple[str, str, Callable[[Snapshot], object]]] = [
    ("driver", "driver version", lambda s: s.nvml.driver_version.value),
    ("cuda-driver", "CUDA supported by the driver", lambda s: s.nvml.cuda_driver_version_text),
    ("torch", "PyTorch version", lambda s: s.target.torch.version if s.target.torch else None),
    ("torch-cuda", "PyTorch's CUDA", lambda s: s.target.torch.cuda_version if s.target.torch else None),
    ("cudnn", "cuDNN", lambda s: s.target.torch.cudnn_version if s.target.torch else None),
    ("nccl", "NCCL", lambda s: s.target.torch.nccl_version if s.target.torch else None),
    ("gpu-model", "GPU models", lambda s: ", ".join(sorted({g.name.value or "?" for g in s.nvml.gpus}))),
    (
        "gpu-memory",
        "GPU memory",
        lambda s: ", ".join(
            sorted({f"{(g.memory_total_bytes.value or 0) / 1024**3:.0f} GiB" for g in s.nvml.gpus})
        ),
    ),
]


def _label(node: Node) -> str:
    return f"node {node.node_rank} ({node.hostname})"


def consistency(nodes: list[Node]) -> list[Finding]:
    probed = [n for n in nodes if n.snapshot is not None]
    out: list[Finding] = []
    if len(probed) < 2:
        return out
    for key, label, get in FACTS:
        values = {_label(n): _value(n.snapshot, get) for n in probed}
        counted = Counter(v for v in values.values())
        if len(counted) > 1:
            common = counted.most_common(1)[0][0]
            odd = [f"{h}: {v}" for h, v in values.items() if v != common]
            out.append(
                Finding(
                    id=f"{key}-differs",
                    severity="fail" if key in ("driver", "torch", "nccl", "torch-cuda") else "warn",
                    subject="cluster",
                    summary=f"Nodes disagree on the {label}: "
                    f"{len(odd)} of {len(probed)} node(s) differ from the rest ({common}).",
                    evidence=[f"{h}: {v}" for h, v in values.items()],
                    fix="install the same driver, CUDA, PyTorch and NCCL everywhere (one container "
                    "image for the whole job is the easy way)",
                )
            )
    counts = {_label(n): len(n.snapshot.nvml.gpus) if n.snapshot else 0 for n in probed}
    most = max(counts.values())
    fewer = {h: c for h, c in counts.items() if c < most}
    if fewer:
        out.append(
            Finding(
                id="node-sees-fewer-gpus",
                severity="fail",
                subject="cluster",
                summary=f"{len(fewer)} node(s) see fewer GPUs than the others ({most}).",
                evidence=[f"{h}: {c} GPU(s)" for h, c in counts.items()],
                fix="run advisor check on that node: a lost GPU, a driver problem or CUDA_VISIBLE_DEVICES",
            )
        )
    failing = [n for n in probed if n.exit_code]
    if failing:
        out.append(
            Finding(
                id="node-check-failed",
                severity="fail",
                subject="cluster",
                summary=f"advisor check fails on {len(failing)} node(s).",
                evidence=[
                    f"{_label(n)}: " + ", ".join(f.id for f in n.findings if f.severity == "fail")
                    for n in failing
                ],
                fix="run advisor check on each listed node and follow its fixes",
            )
        )
    return out


def slow_links(links: list[Link]) -> list[Finding]:
    if len(links) < 2:
        return []
    rates = sorted(link.gbs for link in links)
    median = rates[len(rates) // 2]
    slow = [link for link in links if link.gbs < 0.5 * median]
    if not slow:
        return []
    return [
        Finding(
            id="slow-link",
            severity="warn",
            subject="cluster",
            summary=f"{len(slow)} rank(s) reach rank 0 at under half the median bandwidth: every "
            "collective waits for them.",
            evidence=[f"rank {s.rank} ({s.hostname}): {s.gbs:.2f} GB/s vs median {median:.2f}" for s in slow],
            fix="check that node's network (NCCL_DEBUG=INFO shows the transport; ibstat/ethtool for "
            "link speed; NCCL_SOCKET_IFNAME/NCCL_IB_HCA for the interface)",
        )
    ]


def check_node(snap: Snapshot, compat: CompatKnowledge, cards: tuple[Card, ...]) -> tuple[list[Finding], int]:
    report = diagnose(snap, compat, cards)
    return report.findings, report.exit_code
