"""Rules unit by unit, on snapshots built directly: no probe, no hardware."""

from __future__ import annotations

from typing import Any

from advisor.compat.engine import diagnose, rule_list
from advisor.knowledge.cards import load_cards
from advisor.knowledge.compat import load_compat
from advisor.snapshot import (
    Gpu,
    GpuProcess,
    Host,
    NvmlSnapshot,
    RemappedRows,
    Snapshot,
    TargetPython,
    TorchDevice,
    TorchInfo,
    have,
    missing,
)

COMPAT = load_compat()
CARDS = load_cards(include_user_config=False).cards
GIB = 1024**3


def gpu(index: int = 0, **fields: Any) -> Gpu:
    base: dict[str, Any] = {
        "name": have("NVIDIA GeForce RTX 3090"),
        "compute_capability": have("8.6"),
        "memory_total_bytes": have(24 * GIB),
        "memory_used_bytes": have(0),
        "pcie_gen_current": have(4),
        "pcie_gen_max": have(4),
        "pcie_width_current": have(16),
        "pcie_width_max": have(16),
        "clock_event_reasons": have(["gpu_idle"]),
        "utilization_gpu_pct": have(0),
        "persistence_mode": have(False),
        "compute_mode": have("default"),
        "brand": have("geforce"),
    }
    return Gpu(index=index, **{**base, **fields})


def snap(
    gpus: list[Gpu] | None = None,
    torch: TorchInfo | None = None,
    env: dict[str, str] | None = None,
    cuda: int = 12040,
    pid: int | None = None,
    **host: Any,
) -> Snapshot:
    return Snapshot(
        advisor_version="test",
        taken_at="2026-01-01T00:00:00+00:00",
        host=Host(**{"environment": env or {}, "pci_gpus": have([]), **host}),
        nvml=NvmlSnapshot(
            driver_version=have("550.54.14"),
            cuda_driver_version=have(cuda),
            gpus=gpus if gpus is not None else [gpu()],
        ),
        target=TargetPython(
            executable="/usr/bin/python3", status="ok" if torch else "not_run", torch=torch, pid=pid
        ),
    )


def ids(s: Snapshot, **kw: Any) -> dict[str, str]:
    return {f.id: f.severity for f in diagnose(s, COMPAT, CARDS, **kw).findings}


def cuda_torch(**kw: Any) -> TorchInfo:
    base: dict[str, Any] = {
        "version": "2.4.1+cu121",
        "cuda_version": "12.1",
        "arch_list": ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"],
        "cuda_available": True,
        "device_count": 1,
        "devices": [TorchDevice(index=0, name="x", capability="8.6", kernel_ok=True)],
    }
    return TorchInfo(**{**base, **kw})


def test_rules_are_listed_with_unique_ids() -> None:
    listed = [r.id for r in rule_list()]
    assert len(listed) == len(set(listed)) >= 19


def test_idle_link_generation_drop_is_not_flagged() -> None:
    found = ids(snap([gpu(pcie_gen_current=have(1))]))
    assert "pcie-link-narrow" not in found and "pcie-link-slow-under-load" not in found


def test_link_generation_drop_under_load_is_a_note() -> None:
    found = ids(snap([gpu(pcie_gen_current=have(2), utilization_gpu_pct=have(95))]))
    assert found["pcie-link-slow-under-load"] == "info"


def test_unknown_link_width_is_not_a_verdict() -> None:
    found = ids(snap([gpu(pcie_width_current=missing("not_supported"))]))
    assert "pcie-link-narrow" not in found


def test_no_gpu_is_a_note_unless_required() -> None:
    empty = snap(gpus=[])
    assert ids(empty)["no-nvidia-gpu"] == "info"
    report = diagnose(empty, COMPAT, CARDS, require_gpu=True)
    assert {f.id: f.severity for f in report.findings}["no-nvidia-gpu"] == "fail"
    assert report.exit_code == 1


def test_cuda_visible_devices_explains_fewer_gpus() -> None:
    two = [gpu(0), gpu(1)]
    assert ids(snap(two, cuda_torch(), env={"CUDA_VISIBLE_DEVICES": "0"}))["torch-sees-fewer-gpus"] == "info"
    assert ids(snap(two, cuda_torch()))["torch-sees-fewer-gpus"] == "warn"


def test_mixed_models() -> None:
    two = [gpu(0), gpu(1, name=have("NVIDIA GeForce RTX 4090"), compute_capability=have("8.9"))]
    assert ids(snap(two))["mixed-gpu-models"] == "warn"


def test_persistence_only_matters_on_datacenter_cards() -> None:
    geforce = ids(snap([gpu()]))
    assert "persistence-mode-off" not in geforce
    a100 = gpu(name=have("NVIDIA A100-SXM4-80GB"), compute_capability=have("8.0"), brand=have("nvidia"))
    assert ids(snap([a100]))["persistence-mode-off"] == "warn"


def test_memory_held_ignores_advisors_own_worker() -> None:
    own = GpuProcess(pid=77, name="python", used_memory_bytes=20 * GIB)
    busy = gpu(memory_used_bytes=have(20 * GIB), processes=have([own]))
    assert "memory-held" not in ids(snap([busy], pid=77))
    assert ids(snap([busy], pid=78))["memory-held"] == "warn"


def test_ecc_history_and_remap_failure() -> None:
    old = gpu(ecc_uncorrected_volatile=have(0), ecc_uncorrected_aggregate=have(3))
    assert ids(snap([old]))["ecc-uncorrectable-history"] == "warn"
    broken = gpu(
        ecc_uncorrected_volatile=have(0),
        remapped_rows=have(RemappedRows(correctable=0, uncorrectable=9, pending=False, failure=True)),
    )
    assert ids(snap([broken]))["row-remap-failed"] == "fail"


def test_compute_mode_prohibited() -> None:
    assert ids(snap([gpu(compute_mode=have("prohibited"))]))["compute-mode-restricted"] == "warn"


def test_power_cap_alone_is_not_a_slowdown() -> None:
    capped = gpu(clock_event_reasons=have(["sw_power_cap"]), utilization_gpu_pct=have(100))
    assert "clocks-slowdown" not in ids(snap([capped]))


def test_ptx_only_coverage_is_a_note() -> None:
    t = cuda_torch(arch_list=["sm_80", "compute_80"], version="2.9.0+cu128", cuda_version="12.8")
    found = ids(snap([gpu(name=have("NVIDIA H100 PCIe"), compute_capability=have("9.0"))], t, cuda=12080))
    assert found["arch-ptx-jit"] == "info"
    assert "arch-not-compiled" not in found and "torch-archs" not in found


def test_volta_on_a_cuda13_build_is_too_old() -> None:
    t = cuda_torch(
        version="2.13.0+cu130",
        cuda_version="13.0",
        arch_list=["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"],
    )
    v100 = gpu(name=have("Tesla V100-SXM2-16GB"), compute_capability=have("7.0"), brand=have("tesla"))
    report = diagnose(snap([v100], t, cuda=13000), COMPAT, CARDS)
    old = next(f for f in report.findings if f.id == "gpu-too-old-for-cuda")
    assert old.severity == "fail"
    assert "torch==2.13.0+cu126" in old.full_fix()


def test_minor_version_compatibility_is_a_pass() -> None:
    """A cu128 wheel on a CUDA 12.2 driver runs: the wheel carries SASS, the 12.x floor is R525."""
    t = cuda_torch(version="2.8.0+cu128", cuda_version="12.8")
    report = diagnose(snap([gpu()], t, cuda=12020), COMPAT, CARDS)
    passed = next(f for f in report.findings if f.id == "driver-cuda")
    assert passed.severity == "ok" and "minor-version compatibility" in passed.summary
    assert report.exit_code == 0


def test_card_matching_in_report() -> None:
    report = diagnose(snap([gpu()]), COMPAT, CARDS)
    assert report.gpus[0].card is not None and report.gpus[0].card.name == "GeForce RTX 3090"


def test_nvlink_down_on_sxm_only() -> None:
    def sxm(index: int, links: int) -> Gpu:
        return gpu(
            index,
            name=have("NVIDIA H100 80GB HBM3"),
            compute_capability=have("9.0"),
            nvlink_links_up=have(links),
            brand=have("nvidia"),
        )

    assert ids(snap([sxm(0, 0), sxm(1, 18)]))["nvlink-down"] == "warn"
    assert "nvlink-down" not in ids(snap([sxm(0, 18), sxm(1, 18)]))
    pcie = [gpu(0, nvlink_links_up=have(0)), gpu(1, nvlink_links_up=have(0))]  # no bridge: normal
    assert "nvlink-down" not in ids(snap(pcie))


def test_an_sxm_gpu_alone_has_no_peer_to_link_to() -> None:
    alone = gpu(name=have("NVIDIA H100 80GB HBM3"), compute_capability=have("9.0"), nvlink_links_up=have(0))
    report = diagnose(snap([alone]), COMPAT, CARDS)
    assert "nvlink-down" not in {f.id for f in report.findings}
    outcome = next(o for o in report.outcomes if o.rule == "nvlink")
    assert outcome.status == "not_applicable" and "no peer" in (outcome.reason or "")


def test_fix_commands_quote_an_interpreter_path_with_spaces() -> None:
    s = snap([gpu()], TorchInfo(version="2.4.1+cpu"))
    s = s.model_copy(
        update={"target": s.target.model_copy(update={"executable": "/home/me/My Envs/train/bin/python"})}
    )
    found = next(f for f in diagnose(s, COMPAT, CARDS).findings if f.id == "cpu-only-torch")
    assert found.fix_command is not None and found.fix_command[0] == "/home/me/My Envs/train/bin/python"
    assert "'/home/me/My Envs/train/bin/python' -m pip install" in found.full_fix()
