"""Runs in every rank of a torch.distributed job (torchrun ... -m advisor cluster).

This is the one advisor command that lives inside the user's torch process: torchrun started it
with the user's interpreter, so torch is importable by definition. Control messages (the node
snapshots, the barrier that finds lost ranks) go over a gloo group; the bandwidth is measured on
the job's own backend (NCCL on GPUs, gloo on CPUs).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from advisor.cluster.report import ClusterReport, Collective, Link, Node, busbw, consistency, slow_links
from advisor.compat.findings import Finding
from advisor.knowledge.cards import Card
from advisor.knowledge.compat import CompatKnowledge
from advisor.probe.collect import take_snapshot
from advisor.probe.discover import Choice
from advisor.snapshot import Snapshot


@dataclass(frozen=True)
class Options:
    timeout_s: float = 60.0
    sizes: tuple[int, ...] = (1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22)
    repeats: int = 5
    backend: str | None = None


def run(opts: Options, compat: CompatKnowledge, cards: tuple[Card, ...]) -> ClusterReport | None:
    """The report on global rank 0; None on the other ranks."""
    import torch
    import torch.distributed as dist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    node_rank = int(os.environ.get("GROUP_RANK", os.environ.get("NODE_RANK", "0")))
    backend = opts.backend or ("nccl" if torch.cuda.is_available() else "gloo")
    device = torch.device("cpu")
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    timeout = timedelta(seconds=opts.timeout_s)
    dist.init_process_group(backend, timeout=timeout)
    control = dist.new_group(backend="gloo", timeout=timeout) if backend != "gloo" else None
    host = socket.gethostname()

    snap = (
        take_snapshot(Choice(sys.executable, "torchrun"), timeout_s=opts.timeout_s)
        if local_rank == 0
        else None
    )
    mine = {
        "rank": rank,
        "node_rank": node_rank,
        "hostname": host,
        "snapshot": snap.model_dump_json() if snap else None,
    }
    failures: list[Finding] = []
    gathered: list[Any] = [None] * world if rank == 0 else []
    try:
        # A rank that died or never arrives is named here, after the timeout, instead of hanging.
        dist.monitored_barrier(group=control, timeout=timeout, wait_all_ranks=True)
        gathered = _gather_json(dist, torch, mine, world, control)
    except Exception as exc:  # torch raises RuntimeError/DistBackendError subclasses
        failures.append(_lost(exc))
        gathered = [mine] if rank == 0 else []
    collectives: list[Collective] = []
    links: list[Link] = []
    if not failures:
        try:
            collectives = _collectives(dist, torch, device, world, opts)
            links = _links(dist, torch, device, rank, world, opts, gathered)
        except Exception as exc:
            failures.append(_lost(exc))
    if rank != 0:
        _finish(dist)
        return None
    report = _assemble(backend, world, gathered, collectives, links, failures, compat, cards)
    _finish(dist)
    return report


def _gather_json(dist: Any, torch: Any, obj: Any, world: int, group: Any) -> list[Any]:
    """Every rank's JSON-able object on every rank, over the gloo control group.

    (torch's *_object collectives pickle through NumPy, which the target may not have.)
    """
    import json

    data = json.dumps(obj).encode()
    length = torch.tensor([len(data)], dtype=torch.int64)
    lengths = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(lengths, length, group=group)
    longest = int(max(t.item() for t in lengths))
    padded = torch.zeros(longest, dtype=torch.uint8)
    padded[: len(data)] = torch.tensor(list(data), dtype=torch.uint8)
    chunks = [torch.zeros(longest, dtype=torch.uint8) for _ in range(world)]
    dist.all_gather(chunks, padded, group=group)
    return [
        json.loads(bytes(c[: int(n.item())].tolist()).decode()) for c, n in zip(chunks, lengths, strict=True)
    ]


def _finish(dist: Any) -> None:
    # After a lost rank the group may already be broken: there is nothing left to clean.
    with contextlib.suppress(Exception):
        dist.destroy_process_group()


def _lost(exc: BaseException) -> Finding:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Finding(
        id="rank-lost",
        severity="fail",
        subject="cluster",
        summary="A rank stopped answering (it died, or never joined): the job would hang or "
        "crash at its first collective.",
        evidence=[text[:300]],
        error_text="Watchdog caught collective operation timeout"
        if "timeout" in text.lower()
        else text[:200],
        fix="look at that rank's log (torchrun prints each worker's exit code); run advisor "
        "check on its node",
    )


def _sync(torch: Any, device: Any) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(dist: Any, torch: Any, device: Any, fn: Any, repeats: int) -> float:
    fn()  # warm-up: connection setup, algorithm selection
    _sync(torch, device)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(torch, device)
    return (time.perf_counter() - start) / repeats


def _collectives(dist: Any, torch: Any, device: Any, world: int, opts: Options) -> list[Collective]:
    out = []
    for size in opts.sizes:
        elements = max(world, size // 4)
        buf = torch.ones(elements, dtype=torch.float32, device=device)
        t = _timed(dist, torch, device, lambda buf=buf: dist.all_reduce(buf), opts.repeats)
        algbw = elements * 4 / t / 1e9
        out.append(
            Collective(
                op="all_reduce",
                bytes=elements * 4,
                seconds=t,
                algbw_gbs=algbw,
                busbw_gbs=busbw("all_reduce", algbw, world),
            )
        )
        part = torch.ones(elements // world, dtype=torch.float32, device=device)
        parts = [torch.empty_like(part) for _ in range(world)]
        t = _timed(
            dist, torch, device, lambda part=part, parts=parts: dist.all_gather(parts, part), opts.repeats
        )
        total = part.numel() * 4 * world
        algbw = total / t / 1e9
        out.append(
            Collective(
                op="all_gather",
                bytes=total,
                seconds=t,
                algbw_gbs=algbw,
                busbw_gbs=busbw("all_gather", algbw, world),
            )
        )
    return out


def _links(
    dist: Any, torch: Any, device: Any, rank: int, world: int, opts: Options, gathered: list[Any]
) -> list[Link]:
    size = max(opts.sizes)
    buf = torch.ones(size // 4, dtype=torch.float32, device=device)
    hosts = {g["rank"]: g["hostname"] for g in gathered if g} if rank == 0 else {}
    out = []
    for peer in range(1, world):
        dist.barrier()
        if rank == 0:
            start = time.perf_counter()
            for _ in range(opts.repeats):
                dist.send(buf, dst=peer)
                dist.recv(buf, src=peer)
            _sync(torch, device)
            t = (time.perf_counter() - start) / opts.repeats
            out.append(
                Link(rank=peer, hostname=hosts.get(peer, "?"), bytes=size, seconds=t, gbs=2 * size / t / 1e9)
            )
        elif rank == peer:
            for _ in range(opts.repeats):
                dist.recv(buf, src=0)
                dist.send(buf, dst=0)
    return out


def _assemble(
    backend: str,
    world: int,
    gathered: list[Any],
    collectives: list[Collective],
    links: list[Link],
    failures: list[Finding],
    compat: CompatKnowledge,
    cards: tuple[Card, ...],
) -> ClusterReport:
    from advisor.cluster.report import check_node

    by_node: dict[int, dict[str, Any]] = {}
    for g in gathered:
        if not g:
            continue
        entry = by_node.setdefault(g["node_rank"], {"hostname": g["hostname"], "ranks": [], "snapshot": None})
        entry["ranks"].append(g["rank"])
        if g["snapshot"]:
            entry["snapshot"] = Snapshot.model_validate_json(g["snapshot"])
    nodes = []
    for node_rank, entry in sorted(by_node.items()):
        snap = entry["snapshot"]
        findings, code = check_node(snap, compat, cards) if snap else ([], 0)
        nodes.append(
            Node(
                node_rank=node_rank,
                hostname=entry["hostname"],
                ranks=sorted(entry["ranks"]),
                snapshot=snap,
                findings=findings,
                exit_code=code,
            )
        )
    findings = failures + consistency(nodes) + slow_links(links)
    joined = sorted(r for n in nodes for r in n.ranks)
    return ClusterReport(
        backend=backend,
        world_size=world,
        joined=joined,
        nodes=nodes,
        collectives=collectives,
        links=links,
        findings=findings,
        exit_code=1 if any(f.severity == "fail" for f in findings) else 0,
    )
