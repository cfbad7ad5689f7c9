"""Rules about the GPUs' health: every GPU answers, its link, its clocks, its memory errors."""

from __future__ import annotations

from advisor.compat.findings import Facts, Finding, Skip, gpu_rule, rule
from advisor.compat.fixes import driver_advice_text
from advisor.compat.needs import NVML, gpu_reading
from advisor.snapshot import Gpu

# Clock-event reasons (NVML) that mean the GPU is being slowed down, not just idling or capped.
_SLOWDOWNS = {
    "hw_slowdown": "hardware slowdown (HW_SLOWDOWN: thermal or power-brake signal)",
    "hw_thermal_slowdown": "hardware thermal slowdown (the GPU is too hot)",
    "sw_thermal_slowdown": "software thermal slowdown (driver lowers clocks to cool down)",
    "hw_power_brake_slowdown": "power brake (an external power-supply signal)",
}


_HARDWARE_ADVICE = (
    "read the kernel log: sudo dmesg | grep -i -e xid -e 'fallen off' (Xid 79 = the GPU fell off the "
    "bus); reboot to bring it back; if it recurs: reseat the card, check its power cables and that the "
    "power supply has headroom, try another PCIe slot or riser, update the BIOS; then contact the vendor "
    "(RMA)"
)


@rule(
    "gpu-lost",
    "Every GPU on the bus answers NVML (none has fallen off the bus or failed to initialise)",
    needs=(NVML,),
    emits={"gpu-lost": "fail", "gpu-unreadable": "fail"},
)
def lost(facts: Facts) -> list[Finding] | Skip:
    nvml, host = facts.snapshot.nvml, facts.snapshot.host
    out = []
    answering = [g for g in nvml.gpus if g.status == "ok"]
    for gpu in nvml.gpus:
        if gpu.status == "ok":
            continue
        others = f"{len(answering)} other GPU(s) answer" if answering else "no GPU answers"
        out.append(
            Finding(
                id="gpu-lost" if gpu.status == "lost" else "gpu-unreadable",
                severity="fail",
                subject=gpu.label,
                summary=(
                    "This GPU is lost: the driver can no longer talk to it."
                    if gpu.status == "lost"
                    else "NVML lists this GPU but cannot open it (Unknown Error): the GPU is in a bad "
                    "hardware state."
                ),
                evidence=[gpu.status_detail or "NVML_ERROR_GPU_IS_LOST", others],
                error_text=facts.compat.message("gpu_fallen_off_bus"),
                fix=_HARDWARE_ADVICE,
            )
        )
    # A GPU bound to the nvidia driver on the bus that NVML does not list at all failed to
    # initialise ("RmInitAdapter failed"). Only on bare metal: a container sees the host's sysfs.
    bound = [p for p in host.pci_nvidia if p.driver == "nvidia"]
    if not host.container and host.pci_gpus.ok and len(bound) > len(nvml.gpus):
        listed = {(g.pci_bus_id.value or "").lower()[-12:] for g in nvml.gpus}
        unseen = [p for p in bound if p.address.lower()[-12:] not in listed] or bound[len(nvml.gpus) :]
        for p in unseen:
            card = facts.bus_cards.get(p.address)
            new = _driver_older_than_gpu(facts, card.compute_capability if card else None)
            out.append(
                Finding(
                    id="gpu-unreadable",
                    severity="fail",
                    subject=f"GPU at {p.address}" + (f" ({card.name})" if card else ""),
                    summary="This GPU is on the PCI bus and bound to the nvidia driver, but NVML does not "
                    "list it: the driver failed to initialise it"
                    + (" (this driver is older than the GPU)." if new else "."),
                    evidence=[
                        f"PCI: {len(bound)} NVIDIA GPU(s) bound to nvidia; NVML lists {len(nvml.gpus)}",
                        f"{p.address} device {p.device_id}",
                        *([new] if new else []),
                    ],
                    error_text="RmInitAdapter failed",
                    fix=f"upgrade the NVIDIA driver to {driver_advice_text(facts, [card.compute_capability])}"
                    if new and card
                    else _HARDWARE_ADVICE,
                )
            )
    return out


def _driver_older_than_gpu(facts: Facts, cc: str | None) -> str | None:
    arch = facts.compat.architecture(cc) if cc else None
    driver = facts.snapshot.nvml.driver_version.value or ""
    branch = driver.split(".")[0]
    if arch is None or not arch.first_driver_branch or not branch.isdigit():
        return None
    if int(branch) >= arch.first_driver_branch:
        return None
    return f"{arch.architecture} GPUs need driver R{arch.first_driver_branch} or newer; this is {driver}"


@gpu_rule(
    "pcie-link",
    "Each GPU's PCIe link runs at its full width (and full speed under load)",
    needs=(gpu_reading("pcie_width_current", unsupported="not_applicable"), gpu_reading("pcie_width_max")),
    emits={"pcie-link-narrow": "warn", "pcie-link-slow-under-load": "info"},
)
def pcie(facts: Facts, gpu: Gpu) -> list[Finding]:
    width, width_max = gpu.pcie_width_current.value, gpu.pcie_width_max.value
    gen, gen_max = gpu.pcie_gen_current.value, gpu.pcie_gen_max.value
    link = f"PCIe gen {gen}/{gen_max} x{width}/x{width_max} (current/max)"
    if width and width_max and width < width_max:
        return [
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
        ]
    if gen and gen_max and gen < gen_max and (gpu.utilization_gpu_pct.value or 0) >= 50:
        # An idle GPU drops its link generation to save power; under load it should not.
        return [
            Finding(
                id="pcie-link-slow-under-load",
                severity="info",
                subject=gpu.label,
                summary=f"The PCIe link runs at gen {gen} of {gen_max} while the GPU is busy.",
                evidence=[link, f"utilization {gpu.utilization_gpu_pct.value}%"],
                fix="check the BIOS PCIe speed setting and the slot/riser rating",
            )
        ]
    return []


@gpu_rule(
    "clocks-slowdown",
    "No GPU is being slowed by heat, power or hardware signals",
    needs=(gpu_reading("clock_event_reasons"),),
    emits={"clocks-slowdown": "warn"},
)
def slowdown(facts: Facts, gpu: Gpu) -> list[Finding]:
    reasons = gpu.clock_event_reasons.value or []
    active = [_SLOWDOWNS[r] for r in reasons if r in _SLOWDOWNS]
    if not active:
        return []
    evidence = [f"active clock-event reasons: {', '.join(reasons)}"]
    if gpu.temperature_c.value is not None:
        evidence.append(f"temperature {gpu.temperature_c.value} C")
    if gpu.clock_sm_mhz.value and gpu.clock_sm_max_mhz.value:
        evidence.append(f"SM clock {gpu.clock_sm_mhz.value} of {gpu.clock_sm_max_mhz.value} MHz")
    if gpu.power_draw_w.value is not None and gpu.power_limit_w.value:
        evidence.append(f"power {gpu.power_draw_w.value:.0f} of {gpu.power_limit_w.value:.0f} W")
    return [
        Finding(
            id="clocks-slowdown",
            severity="warn",
            subject=gpu.label,
            summary="The GPU is slowing itself down: " + "; ".join(active) + ".",
            evidence=evidence,
            fix="improve cooling (airflow, fan curve, dust, ambient temperature) and check the "
            "power supply and its cables; watch with: nvidia-smi -q -d PERFORMANCE,TEMPERATURE",
        )
    ]


@gpu_rule(
    "ecc-errors",
    "No uncorrectable memory errors, pending page retirements or row remaps",
    # NotSupported here means the board has no ECC (GeForce): nothing to go wrong.
    needs=(gpu_reading("ecc_uncorrected_volatile", unsupported="not_applicable"),),
    emits={
        "ecc-uncorrectable": "fail",
        "ecc-uncorrectable-history": "warn",
        "retired-pages-pending": "warn",
        "row-remap-failed": "fail",
        "row-remap-pending": "warn",
    },
)
def ecc(facts: Facts, gpu: Gpu) -> list[Finding]:
    out = []
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
