"""Rules about how the GPUs are set up for a job: memory held by others, MIG, persistence and
compute modes, mixed models, NVLink."""

from __future__ import annotations

from advisor.compat.common import gib
from advisor.compat.findings import Facts, Finding, Skip, gpu_rule, rule
from advisor.compat.needs import GPUS, gpu_reading
from advisor.snapshot import Gpu

MEMORY_HELD_FRACTION = 0.5


def _held(facts: Facts, gpu: Gpu) -> tuple[int, int] | None:
    """(bytes others hold, total) on this GPU, not counting advisor's own worker."""
    total, used = gpu.memory_total_bytes.value, gpu.memory_used_bytes.value
    if not total or used is None:
        return None
    own = facts.snapshot.target.pid
    mine = sum(p.used_memory_bytes or 0 for p in gpu.processes.value or [] if p.pid == own)
    return max(0, used - mine), total


@gpu_rule(
    "memory-held",
    "GPU memory is free for your job, not held by other processes",
    needs=(gpu_reading("memory_total_bytes"), gpu_reading("memory_used_bytes")),
    emits={"memory-held": ("warn", "fail"), "memory-held-unlisted": ("warn", "fail")},
)
def memory_held(facts: Facts, gpu: Gpu) -> list[Finding] | Skip:
    held = _held(facts, gpu)
    if held is None:  # a board that reports 0 bytes of memory: nothing to compare against
        return Skip("not_checked", "NVML reports no memory total for this GPU")
    used, total = held
    if used / total < MEMORY_HELD_FRACTION:
        return []
    # With --require-gpu the node is not ready when no GPU has half its memory free.
    free_elsewhere = any(
        (h := _held(facts, g)) is not None and h[0] / h[1] < MEMORY_HELD_FRACTION for g in facts.healthy_gpus
    )
    severity = "fail" if facts.require_gpu and not free_elsewhere else "warn"
    own = facts.snapshot.target.pid
    procs = [p for p in (gpu.processes.value or []) if p.pid != own]
    listed_bytes = sum(p.used_memory_bytes or 0 for p in procs)
    evidence = [f"used {gib(used)} of {gib(total)}"]
    if not gpu.processes.ok:
        evidence.append(f"the process list could not be read ({gpu.processes.why()})")
    # WDDM and some containers list processes without their memory: then trust the list.
    accounted = bool(procs) and (listed_bytes >= used / 2 or not any(p.used_memory_bytes for p in procs))
    if accounted:
        listed = [f"pid {p.pid} {p.name or '?'}: {gib(p.used_memory_bytes)}" for p in procs]
        return [
            Finding(
                id="memory-held",
                severity=severity,
                subject=gpu.label,
                summary=f"{used / total:.0%} of this GPU's memory is in use by other processes; a new "
                "job gets only what is left.",
                evidence=[*evidence, *listed[:5]],
                error_text=facts.compat.message("out_of_memory"),
                fix="stop the processes listed (kill PID) or pick another GPU with CUDA_VISIBLE_DEVICES",
            )
        ]
    evidence.append(
        "NVML lists no process using it"
        if not procs
        else f"the processes NVML lists account for only {gib(listed_bytes)}"
    )
    return [
        Finding(
            id="memory-held-unlisted",
            severity=severity,
            subject=gpu.label,
            summary=f"{used / total:.0%} of this GPU's memory is in use, but not by a process NVML can "
            "see: a process in another container or PID namespace, or a zombie still holding it.",
            evidence=evidence,
            error_text=facts.compat.message("out_of_memory"),
            fix="find the holder: sudo fuser -v /dev/nvidia* (or sudo lsof /dev/nvidia*), and "
            "nvidia-smi --query-compute-apps=pid,used_memory --format=csv on the host; stop it or its "
            f"container; if none is left, reset the GPU (sudo nvidia-smi -r -i {gpu.index}) or reboot",
        )
    ]


@gpu_rule(
    "mig-enabled",
    "MIG mode is reported (it changes what CUDA sees)",
    needs=(gpu_reading("mig_mode", unsupported="not_applicable"),),
    emits={"mig-enabled": "info"},
)
def mig(facts: Facts, gpu: Gpu) -> list[Finding]:
    if not gpu.mig_mode.value:
        return []
    return [
        Finding(
            id="mig-enabled",
            severity="info",
            subject=gpu.label,
            summary="MIG is on: CUDA sees only the MIG instances, each with a slice of memory and compute.",
            evidence=["nvmlDeviceGetMigMode: enabled"],
            error_text=facts.compat.message("mig_invalid_device"),
            fix="use an instance: CUDA_VISIBLE_DEVICES=MIG-<uuid> (from nvidia-smi -L); to use "
            f"the whole GPU: sudo nvidia-smi -i {gpu.index} -mig 0 and reset it",
        )
    ]


@gpu_rule(
    "persistence-mode",
    "Data-center GPUs run with persistence mode on",
    needs=(gpu_reading("persistence_mode", unsupported="not_applicable"),),
    emits={"persistence-mode-off": "warn"},
)
def persistence(facts: Facts, gpu: Gpu) -> list[Finding] | Skip:
    card = facts.cards.get(gpu.index)
    datacenter = (card is not None and card.segment == "datacenter") or gpu.brand.value in ("tesla", "nvidia")
    if not datacenter:
        return Skip("not_applicable", "not a data-center GPU")
    if gpu.persistence_mode.value is not False:
        return []
    return [
        Finding(
            id="persistence-mode-off",
            severity="warn",
            subject=gpu.label,
            summary="Persistence mode is off: the driver tears down and re-initialises this "
            "GPU around every job (seconds of start-up, and lost state).",
            evidence=["nvmlDeviceGetPersistenceMode: disabled"],
            fix="sudo systemctl enable --now nvidia-persistenced (or: sudo nvidia-smi -pm 1)",
        )
    ]


@gpu_rule(
    "compute-mode",
    "Compute mode lets your processes use the GPU",
    needs=(gpu_reading("compute_mode"),),
    emits={"compute-mode-restricted": "warn"},
)
def compute_mode(facts: Facts, gpu: Gpu) -> list[Finding]:
    if gpu.compute_mode.value not in ("prohibited", "exclusive_process"):
        return []
    return [
        Finding(
            id="compute-mode-restricted",
            severity="warn",
            subject=gpu.label,
            summary=f"Compute mode is {gpu.compute_mode.value}: "
            + (
                "no process may use this GPU."
                if gpu.compute_mode.value == "prohibited"
                else "only one process at a time may use this GPU."
            ),
            evidence=[f"nvmlDeviceGetComputeMode: {gpu.compute_mode.value}"],
            error_text=facts.compat.message("devices_unavailable"),
            fix="set the GPU back to the default compute mode",
            fix_command=["sudo", "nvidia-smi", "-i", str(gpu.index), "-c", "DEFAULT"],
        )
    ]


@rule(
    "mixed-gpus",
    "All GPUs in the box are the same model",
    needs=(GPUS,),
    emits={"mixed-gpu-models": "warn"},
)
def mixed(facts: Facts) -> list[Finding] | Skip:
    names = sorted({g.name.value for g in facts.healthy_gpus if g.name.value})
    if len(facts.healthy_gpus) < 2:
        return Skip("not_applicable", "fewer than two GPUs answer")
    if len(names) < 2:
        return []
    return [
        Finding(
            id="mixed-gpu-models",
            severity="warn",
            subject="host",
            summary="This machine mixes GPU models: data-parallel training runs at the pace of the "
            "slowest card and fits the smallest memory.",
            evidence=[f"{g.label}" for g in facts.healthy_gpus],
            fix="train on one model only (CUDA_VISIBLE_DEVICES=<indices of the same model>), and set "
            "CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA's numbering matches nvidia-smi",
        )
    ]


@gpu_rule(
    "nvlink",
    "SXM GPUs have their NVLink links up",
    needs=(gpu_reading("nvlink_links_up", unsupported="not_applicable"),),
    emits={"nvlink-down": "warn"},
)
def nvlink(facts: Facts, gpu: Gpu) -> list[Finding] | Skip:
    card = facts.cards.get(gpu.index)
    # SXM boards are built around NVLink; PCIe boards carry it only with an optional bridge.
    if card is None or "SXM" not in card.name or not card.nvlink_bandwidth_gbs:
        return Skip("not_applicable", "not an SXM board")
    if len(facts.snapshot.nvml.gpus) < 2:
        return Skip("not_applicable", "the only GPU in this system: no peer to link to")
    if gpu.nvlink_links_up.value != 0:
        return []
    return [
        Finding(
            id="nvlink-down",
            severity="warn",
            subject=gpu.label,
            summary="No NVLink link is up on this SXM GPU: GPU-to-GPU traffic falls back to PCIe "
            f"(about {card.nvlink_bandwidth_gbs:g} GB/s of NVLink lost).",
            evidence=["nvmlDeviceGetNvLinkState: 0 active links"],
            fix="check nvidia-smi nvlink -s and nvidia-smi topo -m; on HGX/DGX systems the NVSwitch "
            "fabric manager must run (sudo systemctl start nvidia-fabricmanager)",
        )
    ]
