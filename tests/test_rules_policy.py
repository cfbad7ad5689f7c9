"""The severity policy a preflight can trust, and the third verdict: not checked (why)."""

from __future__ import annotations

import pytest

from advisor.compat.engine import RULES, diagnose, rule_list
from advisor.snapshot import GpuProcess, Host, NvmlSnapshot, Snapshot, TorchInfo, have, missing
from tests.conftest import Cli
from tests.test_rules import CARDS, COMPAT, GIB, cuda_torch, gpu, snap


def outcome(s: Snapshot, rule: str, **kw: bool) -> tuple[str, str | None]:
    o = next(o for o in diagnose(s, COMPAT, CARDS, **kw).outcomes if o.rule == rule)
    return o.status, o.reason


def severities(s: Snapshot, **kw: bool) -> dict[str, str]:
    return {f.id: f.severity for f in diagnose(s, COMPAT, CARDS, **kw).findings}


# --- the third verdict -----------------------------------------------------------------------------


def test_unreadable_inputs_are_not_checked_never_healthy() -> None:
    blind = gpu(
        ecc_uncorrected_volatile=missing("no_permission", "NVMLError_NoPermission"),
        clock_event_reasons=missing("error", "NVMLError_Unknown"),
        memory_total_bytes=missing("gpu_is_lost"),
        memory_used_bytes=missing("gpu_is_lost"),
    )
    s = snap([blind])
    assert outcome(s, "ecc-errors") == (
        "not_checked",
        "ecc uncorrected volatile could not be read: no_permission (NVMLError_NoPermission)",
    )
    assert outcome(s, "clocks-slowdown")[0] == "not_checked"
    assert outcome(s, "memory-held")[0] == "not_checked"
    report = diagnose(s, COMPAT, CARDS)
    assert report.counts["not_checked"] >= 3


def test_not_supported_is_not_applicable_where_the_board_has_no_such_thing() -> None:
    geforce = gpu(ecc_uncorrected_volatile=missing("not_supported"), mig_mode=missing("not_supported"))
    assert outcome(snap([geforce]), "ecc-errors")[0] == "not_applicable"
    assert outcome(snap([geforce]), "mig-enabled")[0] == "not_applicable"


def test_every_finding_is_declared_and_every_id_is_listed() -> None:
    declared = {e.id: set(e.severities) for r in rule_list() for e in r.emits}
    assert len(declared) == sum(len(r.emits) for r in RULES), "one rule owns each finding id"
    for r in rule_list():
        assert r.id in declared or all(e.id != r.id for e in r.emits)


def test_rules_json_lists_each_id_with_its_severities(cli: Cli) -> None:
    listed = cli.json("rules")["result"]
    ids = {e["id"]: e["severities"] for r in listed for e in r["emits"]}
    assert ids["nvcc-mismatch"] == ["warn", "fail"]
    assert ids["driver-too-old-for-frameworks"] == ["fail"]
    assert "Severities: fail: the job as asked will not run" in cli("rules").stdout


# --- severities ------------------------------------------------------------------------------------


def held(index: int, used_gib: int, procs: list[GpuProcess] | None = None) -> object:
    return gpu(index, memory_used_bytes=have(used_gib * GIB), processes=have(procs or []))


def test_memory_held_fails_a_gpu_preflight_only_when_no_gpu_is_half_free() -> None:
    job = [GpuProcess(pid=1234, name="python train.py", used_memory_bytes=20 * GIB)]
    both = snap([held(0, 20, job), held(1, 20, job)])  # type: ignore[list-item]
    assert severities(both)["memory-held"] == "warn"
    assert severities(both, require_gpu=True)["memory-held"] == "fail"
    one_free = snap([held(0, 20, job), held(1, 1)])  # type: ignore[list-item]
    assert severities(one_free, require_gpu=True)["memory-held"] == "warn"


def test_memory_used_with_no_process_listed_says_where_to_look() -> None:
    ghost = snap([held(0, 20)])  # type: ignore[list-item]
    f = next(f for f in diagnose(ghost, COMPAT, CARDS).findings if f.id == "memory-held-unlisted")
    assert "NVML lists no process using it" in f.evidence
    assert f.fix is not None and "fuser -v /dev/nvidia*" in f.fix and "--query-compute-apps" in f.fix
    assert "kill the processes listed" not in f.fix


def test_a_gpu_that_cannot_be_opened_fails_with_hardware_advice() -> None:
    s = snap(
        [gpu(0), gpu(1).model_copy(update={"status": "error", "status_detail": "error (NVMLError_Unknown)"})]
    )
    f = next(f for f in diagnose(s, COMPAT, CARDS).findings if f.id == "gpu-unreadable")
    assert f.severity == "fail"
    assert f.fix is not None and all(w in f.fix for w in ("dmesg", "reseat", "power", "slot", "reboot"))
    assert "nvidia-smi -q" not in f.fix
    assert "1 other GPU(s) answer" in f.evidence


def test_a_gpu_on_the_bus_that_nvml_does_not_list_is_named() -> None:
    from advisor.snapshot import PciGpu

    bus = [PciGpu(address="0000:01:00.0", device_id="0x2B85", driver="nvidia")]
    s = snap(gpus=[], pci_gpus=have(bus))
    s = s.model_copy(
        update={"nvml": NvmlSnapshot(driver_version=have("560.35.03"), cuda_driver_version=have(12060))}
    )
    f = next(f for f in diagnose(s, COMPAT, CARDS).findings if f.id == "gpu-unreadable")
    assert "this driver is older than the GPU" in f.summary  # an RTX 5090 needs R570
    assert f.fix is not None and "R580" in f.fix


def test_a_driver_too_old_for_every_current_build_fails_without_torch() -> None:
    v100 = gpu(name=have("Tesla V100-SXM2-16GB"), compute_capability=have("7.0"), brand=have("tesla"))
    s = snap([v100], cuda=10010).model_copy(
        update={
            "nvml": NvmlSnapshot(
                driver_version=have("418.87.01"), cuda_driver_version=have(10010), gpus=[v100]
            )
        }
    )
    f = next(f for f in diagnose(s, COMPAT, CARDS).findings if f.id == "driver-too-old-for-frameworks")
    assert f.severity == "fail"
    assert f.fix is not None and "R580, the last branch for Volta GPUs" in f.fix
    cpu = s.model_copy(
        update={
            "target": s.target.model_copy(update={"status": "ok", "torch": TorchInfo(version="2.4.1+cpu")})
        }
    )
    assert severities(cpu)["driver-too-old-for-frameworks"] == "fail"


def test_kepler_is_sent_to_its_last_branch() -> None:
    k80 = gpu(name=have("Tesla K80"), compute_capability=have("3.7"), brand=have("tesla"))
    s = snap([k80]).model_copy(
        update={
            "nvml": NvmlSnapshot(
                driver_version=have("418.87.01"), cuda_driver_version=have(10010), gpus=[k80]
            )
        }
    )
    f = next(f for f in diagnose(s, COMPAT, CARDS).findings if f.id == "driver-too-old-for-frameworks")
    assert "R470, the last branch for Kepler GPUs" in f.full_fix()
    # R470 runs CUDA 11.4: current builds need CUDA 12+, so the fix names the torch that will run
    assert "then install PyTorch 2.7 built for CUDA 11.8" in f.full_fix()
    assert "download.pytorch.org/whl/cu118" in f.full_fix()


def test_a_kernel_that_ran_through_ptx_is_one_note_not_ok_and_no_kernel_image() -> None:
    t = cuda_torch(version="2.7.0+cu128", cuda_version="12.8", arch_list=["sm_90", "compute_90"])
    blackwell = gpu(name=have("NVIDIA GeForce RTX 5090"), compute_capability=have("12.0"))
    found = severities(snap([blackwell], t, cuda=12080))
    assert found["arch-ptx-jit"] == "info"
    assert not {"arch-not-compiled", "gpu-too-new-for-cuda", "torch-archs", "kernel-failed"} & set(found)
    # an older driver cannot JIT the newer PTX: then it is a failure
    assert severities(snap([blackwell], t, cuda=12040))["arch-ptx-jit"] == "fail"


# --- CUDA start-up, verbatim -----------------------------------------------------------------------

STARTUP = [
    (
        "CUDA initialization: CUDA unknown error - this may be due to an incorrectly set up environment, "
        "e.g. changing env variable CUDA_VISIBLE_DEVICES after program start. Setting the available "
        "devices to be zero. (Triggered internally at ../c10/cuda/CUDAFunctions.cpp:108.)",
        "cuda-unknown-error",
        "rmmod nvidia_uvm",
    ),
    (
        "CUDA initialization: Unexpected error from cudaGetDeviceCount(). Did you run some cuda functions "
        "before calling NumCudaDevices() that might have already set an error? Error 802: system not yet "
        "initialized (Triggered internally at  ../c10/cuda/CUDAFunctions.cpp:112.)",
        "cuda-system-not-ready",
        "nvidia-fabricmanager",
    ),
    (
        "CUDA initialization: Unexpected error from cudaGetDeviceCount(). Did you run some cuda functions "
        "before calling NumCudaDevices() that might have already set an error? Error 803: system has "
        "unsupported display driver / cuda driver combination (Triggered internally at /pytorch/c10/cuda/"
        "CUDAFunctions.cpp:119.)",
        "cuda-driver-mismatch",
        "reboot",
    ),
    (
        "CUDA initialization: Unexpected error from cudaGetDeviceCount(). Did you run some cuda functions "
        "before calling NumCudaDevices() that might have already set an error? Error 804: forward "
        "compatibility was attempted on non supported HW (Triggered internally at ../c10/cuda/"
        "CUDAFunctions.cpp:108.)",
        "forward-compat-unsupported",
        "upgrade the host driver",
    ),
]


@pytest.mark.parametrize(("warning", "finding", "fix"), STARTUP)
def test_cuda_startup_errors_get_their_own_cause_and_fix(warning: str, finding: str, fix: str) -> None:
    t = cuda_torch(cuda_available=False, device_count=0, devices=[], warnings=[warning])
    report = diagnose(snap([gpu()], t), COMPAT, CARDS)
    found = {f.id: f for f in report.findings}
    assert found[finding].severity == "fail"
    assert fix in found[finding].full_fix()
    assert (found[finding].error_text or "").startswith(("CUDA unknown error", "Unexpected error", "forward"))
    assert "(Triggered internally" not in (found[finding].error_text or "")
    assert "torch-cuda-unavailable" not in found  # the generic finding is the symptom, dropped
    assert report.exit_code == 1


def test_torch_too_old_text_is_quoted_as_torch_prints_it() -> None:
    warning = (
        "CUDA initialization: The NVIDIA driver on your system is too old (found version 11040). Please "
        "update your GPU driver by downloading and installing a new version from the URL: "
        "http://www.nvidia.com/Download/index.aspx Alternatively, go to: https://pytorch.org to install "
        "a PyTorch version that has been compiled with your version of the CUDA driver."
    )
    t = cuda_torch(cuda_available=False, devices=[], warnings=[warning])
    f = next(
        f
        for f in diagnose(snap([gpu()], t, cuda=11040), COMPAT, CARDS).findings
        if f.id == "driver-too-old-for-cuda"
    )
    assert (f.error_text or "").startswith(
        "The NVIDIA driver on your system is too old (found version 11040)"
    )


def test_a_jetson_is_never_a_machine_without_a_gpu() -> None:
    orin = TorchInfo(
        version="2.3.0",
        cuda_version="12.2",
        arch_list=["sm_87"],
        cuda_available=True,
        device_count=1,
        devices=[{"index": 0, "name": "Orin", "capability": "8.7", "kernel_ok": True}],  # type: ignore[list-item]
    )
    s = Snapshot(
        advisor_version="test",
        taken_at="2026-12-01T00:00:00+00:00",
        host=Host(
            tegra_release="# R36 (release), REVISION: 4.7, GCID: 42132812, BOARD: generic", pci_gpus=have([])
        ),
        nvml=NvmlSnapshot(init_error="library_not_found", init_detail="NVML Shared Library Not Found"),
        target=snap().target.model_copy(update={"status": "ok", "torch": orin}),
    )
    found = severities(s)
    assert found["tegra-platform"] == "info"
    assert "no-nvidia-gpu" not in found and "container-without-gpus" not in found
    assert found["kernel-runs"] == "ok"
