"""Rules about the GPUs themselves: lost, link, clocks, memory errors, memory use, modes."""

from __future__ import annotations

from advisor.compat.common import gib
from advisor.compat.findings import Facts, Finding, rule

# Clock-event reasons (NVML) that mean the GPU is being slowed down, not just idling or capped.
_SLOWDOWNS = {
    "hw_slowdown": "hardware slowdown (HW_SLOWDOWN: thermal or power-brake signal)",
    "hw_thermal_slowdown": "hardware thermal slowdown (the GPU is too hot)",
    "sw_thermal_slowdown": "software thermal slowdown (driver lowers clocks to cool down)",
    "hw_power_brake_slowdown": "power brake (an external power-supply signal)",
}
MEMORY_HELD_FRACTION = 0.5


@rule("gpu-lost", "Every GPU answers (none has fallen off the bus)")
def lost(facts: Facts) -> list[Finding]:
    out = []
    for gpu in facts.snapshot.nvml.gpus:
        if gpu.status == "lost":
            out.append(
                Finding(
                    id="gpu-lost",
                    severity="fail",
                    subject=gpu.label,
                    summary="This GPU is lost: the driver can no longer talk to it.",
                    evidence=[gpu.status_detail or "NVML_ERROR_GPU_IS_LOST"],
                    error_text=facts.compat.message("gpu_fallen_off_bus"),
                    fix="read `sudo dmesg | grep -i xid` (Xid 79); reboot; if it recurs, check power "
                    "cables, seating and cooling, then contact the vendor",
                )
            )
        elif gpu.status == "error":
            out.append(
                Finding(
                    id="gpu-unreadable",
                    severity="warn",
                    subject=gpu.label,
                    summary="NVML could not open this GPU.",
                    evidence=[gpu.status_detail or ""],
                    fix="run `nvidia-smi -q -i " + str(gpu.index) + "` to see what the driver says",
                )
            )
    return out


@rule("pcie-link-narrow", "Each GPU's PCIe link runs at its full width")
def pcie(facts: Facts) -> list[Finding]:
    out = []
    for gpu in facts.healthy_gpus:
        width, width_max = gpu.pcie_width_current.value, gpu.pcie_width_max.value
        gen, gen_max = gpu.pcie_gen_current.value, gpu.pcie_gen_max.value
        link = f"PCIe gen {gen}/{gen_max} x{width}/x{width_max} (current/max)"
        if width and width_max and width < width_max:
            out.append(
                Finding(
                    id="pcie-link-narrow",
                    severity="warn",
                    subject=gpu.label,
                    summary=f"The PCIe link runs at x{width} of x{width_max}: host-device copies run "
                    f"at about {width / width_max:.0%} of their speed.",
                    evidence=[link],
                    fix="reseat the card in a full-length x16 slot (check riser cables and the "
                    "motherboard manual: some slots share lanes with M.2 drives)",
                )
            )
        elif gen and gen_max and gen < gen_max and (gpu.utilization_gpu_pct.value or 0) >= 50:
            # An idle GPU drops its link generation to save power; under load it should not.
            out.append(
                Finding(
                    id="pcie-link-slow-under-load",
                    severity="info",
                    subject=gpu.label,
                    summary=f"The PCIe link runs at gen {gen} of {gen_max} while the GPU is busy.",
                    evidence=[link, f"utilization {gpu.utilization_gpu_pct.value}%"],
                    fix="check the BIOS PCIe speed setting and the slot/riser rating",
                )
            )
    return out


@rule("clocks-slowdown", "No GPU is being slowed by heat, power or hardware signals")
def slowdown(facts: Facts) -> list[Finding]:
    out = []
    for gpu in facts.healthy_gpus:
        reasons = gpu.clock_event_reasons.value or []
        active = [_SLOWDOWNS[r] for r in reasons if r in _SLOWDOWNS]
        if not active:
            continue
        evidence = [f"active clock-event reasons: {', '.join(reasons)}"]
        if gpu.temperature_c.value is not None:
            evidence.append(f"temperature {gpu.temperature_c.value} C")
        if gpu.clock_sm_mhz.value and gpu.clock_sm_max_mhz.value:
            evidence.append(f"SM clock {gpu.clock_sm_mhz.value} of {gpu.clock_sm_max_mhz.value} MHz")
        if gpu.power_draw_w.value is not None and gpu.power_limit_w.value:
            evidence.append(f"power {gpu.power_draw_w.value:.0f} of {gpu.power_limit_w.value:.0f} W")
        out.append(
            Finding(
                id="clocks-slowdown",
                severity="warn",
                subject=gpu.label,
                summary="The GPU is slowing itself down: " + "; ".join(active) + ".",
                evidence=evidence,
                fix="improve cooling (airflow, fan curve, dust, ambient temperature) and check the "
                "power supply and its cables; watch with: nvidia-smi -q -d PERFORMANCE,TEMPERATURE",
            )
        )
    return out


@rule("ecc-errors", "No uncorrectable memory errors, pending page retirements or row remaps")
def ecc(facts: Facts) -> list[Finding]:
    out = []
    for gpu in facts.healthy_gpus:
        reset = f"sudo nvidia-smi -r -i {gpu.index}"
        volatile, total = gpu.ecc_uncorrected_volatile.value, gpu.ecc_uncorrected_aggregate.value
        if volatile:
            out.append(
                Finding(
                    id="ecc-uncorrectable",
                    severity="fail",
                    subject=gpu.label,
                    summary=f"{volatile} uncorrectable ECC error(s) since the last driver load: "
                    "results on this GPU cannot be trusted.",
                    evidence=[f"volatile uncorrected: {volatile}; lifetime: {total}"],
                    error_text=facts.compat.message("ecc_uncorrectable"),
                    fix=f"drain the GPU and reset it ({reset}) or reboot; if errors return, "
                    "contact the vendor (RMA)",
                )
            )
        elif total:
            out.append(
                Finding(
                    id="ecc-uncorrectable-history",
                    severity="warn",
                    subject=gpu.label,
                    summary=f"This GPU has had {total} uncorrectable ECC error(s) in its lifetime.",
                    evidence=[f"aggregate uncorrected: {total}; volatile: {volatile}"],
                    fix="watch it: nvidia-smi -q -d ECC,PAGE_RETIREMENT,ROW_REMAPPER",
                )
            )
        if gpu.retired_pages_pending.value:
            out.append(
                Finding(
                    id="retired-pages-pending",
                    severity="warn",
                    subject=gpu.label,
                    summary="Memory pages are waiting to be retired; that happens at the next reset.",
                    evidence=["nvmlDeviceGetRetiredPagesPendingStatus: pending"],
                    fix=f"reset the GPU when idle ({reset}) or reboot",
                )
            )
        rows = gpu.remapped_rows.value
        if rows is not None and rows.failure:
            out.append(
                Finding(
                    id="row-remap-failed",
                    severity="fail",
                    subject=gpu.label,
                    summary="Row remapping failed: the GPU ran out of spare memory rows.",
                    evidence=[
                        f"remapped rows: {rows.correctable} correctable, {rows.uncorrectable} "
                        "uncorrectable, failure occurred"
                    ],
                    fix="the GPU needs service: contact the vendor (RMA)",
                )
            )
        elif rows is not None and rows.pending:
            out.append(
                Finding(
                    id="row-remap-pending",
                    severity="warn",
                    subject=gpu.label,
                    summary="A memory row remap is pending; it takes effect at the next GPU reset.",
                    evidence=[
                        f"remapped rows: {rows.correctable} correctable, {rows.uncorrectable} "
                        "uncorrectable, pending"
                    ],
                    fix=f"reset the GPU when idle ({reset}) or reboot",
                )
            )
    return out


@rule("memory-held", "GPU memory is free for your job, not held by other processes")
def memory_held(facts: Facts) -> list[Finding]:
    own = facts.snapshot.target.pid
    out = []
    for gpu in facts.healthy_gpus:
        total, used = gpu.memory_total_bytes.value, gpu.memory_used_bytes.value
        if not total or used is None:
            continue
        procs = [p for p in (gpu.processes.value or []) if p.pid != own]
        mine = sum(p.used_memory_bytes or 0 for p in gpu.processes.value or [] if p.pid == own)
        used -= mine
        if used / total < MEMORY_HELD_FRACTION:
            continue
        listed = [f"pid {p.pid} {p.name or '?'}: {gib(p.used_memory_bytes)}" for p in procs]
        out.append(
            Finding(
                id="memory-held",
                severity="warn",
                subject=gpu.label,
                summary=f"{used / total:.0%} of this GPU's memory is in use by other processes; a new "
                "job gets only what is left.",
                evidence=[f"used {gib(used)} of {gib(total)}", *listed[:5]],
                error_text=facts.compat.message("out_of_memory"),
                fix="stop the processes listed (kill PID) or pick another GPU with CUDA_VISIBLE_DEVICES",
            )
        )
    return out


@rule("mig-enabled", "MIG mode is reported (it changes what CUDA sees)")
def mig(facts: Facts) -> list[Finding]:
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
        for gpu in facts.healthy_gpus
        if gpu.mig_mode.value
    ]


@rule("persistence-mode", "Data-center GPUs run with persistence mode on")
def persistence(facts: Facts) -> list[Finding]:
    out = []
    for gpu in facts.healthy_gpus:
        card = facts.cards.get(gpu.index)
        datacenter = (card is not None and card.segment == "datacenter") or gpu.brand.value in (
            "tesla",
            "nvidia",
        )
        if datacenter and gpu.persistence_mode.value is False:
            out.append(
                Finding(
                    id="persistence-mode-off",
                    severity="warn",
                    subject=gpu.label,
                    summary="Persistence mode is off: the driver tears down and re-initialises this "
                    "GPU around every job (seconds of start-up, and lost state).",
                    evidence=["nvmlDeviceGetPersistenceMode: disabled"],
                    fix="sudo systemctl enable --now nvidia-persistenced (or: sudo nvidia-smi -pm 1)",
                )
            )
    return out


@rule("compute-mode", "Compute mode lets your processes use the GPU")
def compute_mode(facts: Facts) -> list[Finding]:
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
            fix=f"sudo nvidia-smi -i {gpu.index} -c DEFAULT",
        )
        for gpu in facts.healthy_gpus
        if gpu.compute_mode.value in ("prohibited", "exclusive_process")
    ]


@rule("mixed-gpus", "All GPUs in the box are the same model")
def mixed(facts: Facts) -> list[Finding]:
    names = sorted({g.name.value for g in facts.healthy_gpus if g.name.value})
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


@rule("nvlink", "SXM GPUs have their NVLink links up")
def nvlink(facts: Facts) -> list[Finding]:
    out = []
    for gpu in facts.healthy_gpus:
        card = facts.cards.get(gpu.index)
        up = gpu.nvlink_links_up.value
        # SXM boards are built around NVLink; PCIe boards carry it only with an optional bridge.
        if card is None or "SXM" not in card.name or not card.nvlink_bandwidth_gbs or up != 0:
            continue
        out.append(
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
        )
    return out
