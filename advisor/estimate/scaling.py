"""How a job scales over several GPUs of one card, by interconnect and parallelism (pure).

A step on n GPUs costs its compute split n ways plus the communication the overlap does not hide:

- data parallel (DDP, ZeRO-1/2): one all-reduce of the gradients per step, a ring moving
  2(n-1)/n of their bytes over each link (NCCL's bus-bandwidth rule), overlapped with backward;
- ZeRO-3 / FSDP: the weights gathered for forward and again for backward and the gradients
  reduce-scattered, (n-1)/n of each per GPU, partly hidden by prefetch;
- tensor-parallel inference: every GPU reads 1/n of the weights per generated token, plus two
  all-reduces per layer, which at batch 1 cost their latency;
- layer-split inference (llama.cpp, accelerate's device_map): the GPUs take turns, so a token still
  reads every weight once: no decode speed-up, only more memory.

Links: NVLink within its domain (a bridged pair of PCIe cards, or the 8 modules of an HGX board),
else PCIe at 80% of its x16 rate; GeForce cards since Ada have no peer-to-peer, so their traffic
crosses host memory at half that. The overlap shares and latencies are planning assumptions,
stated as such in ASSUMED.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from advisor.knowledge.cards import Card

Parallelism = Literal["single", "data", "zero3", "tensor", "layers"]

PCIE_X16_GBS = {3: 15.75, 4: 31.5, 5: 63.0, 6: 126.0}  # per direction, raw (PCI-SIG)
PCIE_EFFICIENCY = 0.8  # of the raw rate, for large NCCL transfers (assumed)
NVLINK_DOMAIN_PCIE = 2  # PCIe cards pair up with an NVLink bridge
NVLINK_DOMAIN_SXM = 8  # an HGX/DGX baseboard
ASSUMED = {
    "ddp_overlap": 0.8,  # share of backward that hides the gradient all-reduce
    "zero3_overlap": 0.5,  # share of the step that hides ZeRO-3's gathers (prefetch)
    "allreduce_latency_s_nvlink": 10e-6,  # one small all-reduce over NVLink
    "allreduce_latency_s_pcie": 30e-6,  # one small all-reduce over PCIe
}


class Link(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["nvlink", "pcie", "pcie_via_host", "none"]
    gbs: float  # per direction, per GPU, effective
    latency_s: float


def no_p2p(card: Card) -> bool:
    """GeForce cards from Ada on: NVIDIA disabled peer-to-peer over PCIe (no NVLink either)."""
    return card.segment == "consumer" and card.architecture in ("ada", "blackwell")


def link(card: Card, gpus: int, form_factor: str = "pcie") -> Link:
    if gpus <= 1:
        return Link(kind="none", gbs=0.0, latency_s=0.0)
    domain = NVLINK_DOMAIN_SXM if form_factor.startswith("sxm") else NVLINK_DOMAIN_PCIE
    if card.nvlink_bandwidth_gbs and gpus <= domain:
        return Link(
            kind="nvlink", gbs=card.nvlink_bandwidth_gbs / 2, latency_s=ASSUMED["allreduce_latency_s_nvlink"]
        )
    pcie = PCIE_X16_GBS.get(card.pcie_gen, 15.75) * PCIE_EFFICIENCY
    if no_p2p(card):
        return Link(kind="pcie_via_host", gbs=pcie / 2, latency_s=2 * ASSUMED["allreduce_latency_s_pcie"])
    return Link(kind="pcie", gbs=pcie, latency_s=ASSUMED["allreduce_latency_s_pcie"])


def training_efficiency(
    parallelism: Parallelism,
    gpus: int,
    step_compute_s: float,
    grad_bytes: int,
    weight_bytes_16: int,
    lnk: Link,
) -> float:
    """The share of n GPUs' compute a training step keeps: compute / (compute + exposed comm).

    ``step_compute_s`` is one GPU's compute for its share of the step; ``grad_bytes`` what one
    all-reduce moves (the trainable parameters' gradients); ``weight_bytes_16`` the weights as
    ZeRO-3 gathers them (16-bit)."""
    if gpus <= 1 or parallelism == "single" or step_compute_s <= 0:
        return 1.0
    share = (gpus - 1) / gpus
    if parallelism == "zero3":
        traffic = share * (2 * weight_bytes_16 + grad_bytes)
        hidden = ASSUMED["zero3_overlap"] * step_compute_s
    else:
        traffic = 2 * share * grad_bytes
        hidden = ASSUMED["ddp_overlap"] * step_compute_s * 2 / 3  # backward is ~2/3 of the step
    comm = traffic / (lnk.gbs * 1e9) if lnk.gbs else 0.0
    exposed = max(0.0, comm - hidden)
    return step_compute_s / (step_compute_s + exposed)


def decode_seconds_per_token(
    parallelism: Parallelism, gpus: int, read_bytes_total: float, bandwidth_bps: float, layers: int, lnk: Link
) -> float:
    """Time to generate one token when ``read_bytes_total`` (weights + cache, all GPUs together)
    must be read at ``bandwidth_bps`` per GPU."""
    if gpus <= 1 or parallelism in ("single", "layers"):
        return read_bytes_total / bandwidth_bps  # layer split: the GPUs take turns
    return read_bytes_total / gpus / bandwidth_bps + 2 * layers * lnk.latency_s
