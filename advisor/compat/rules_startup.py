"""CUDA start-up in the target: when NVML is fine but CUDA will not start, say why.

torch reports the failure once, as a UserWarning from torch.cuda.is_available() ("CUDA
initialization: ..."), or as the exception of the first CUDA call; the texts come from
c10/cuda/CUDAFunctions.cpp and cudaGetErrorString. Each known code gets its own finding with the
fix that works for it; the generic one is kept for what nothing here explains.
"""

from __future__ import annotations

from advisor.compat.common import gpu_present, no_driver_text, startup_error
from advisor.compat.findings import Emit, Facts, Finding, Skip, rule
from advisor.compat.needs import TORCH_CUDA

# More specific findings, from this rule or others, that explain "CUDA is not available".
_CAUSES = (
    "driver-too-old-for-cuda",
    "driver-library-mismatch",
    "driver-reboot-pending",
    "driver-not-loaded",
    "gpu-without-driver",
    "container-without-gpus",
    "container-gpus-hidden",
    "uvm-missing",
    "forward-compat-unsupported",
    "cuda-unknown-error",
    "cuda-driver-mismatch",
    "cuda-system-not-ready",
    "cuda-no-device",
    "gpu-lost",
    "wsl1",
)
_RELOAD_UVM = (
    "with no GPU process running, reload the unified-memory module: sudo rmmod nvidia_uvm && sudo "
    "modprobe nvidia_uvm (modprobe alone does nothing while the broken module is loaded); or reboot. "
    "To keep it from recurring after suspend, enable nvidia-suspend.service and nvidia-resume.service"
)


@rule(
    "cuda-init",
    "CUDA starts in the target Python (torch.cuda.is_available() and no start-up error)",
    needs=(TORCH_CUDA,),
    emits={
        "cuda-init": "ok",
        "cuda-unknown-error": Emit(("fail",), explained_by=("uvm-missing",)),
        "cuda-driver-mismatch": Emit(
            ("fail",), explained_by=("driver-library-mismatch", "driver-reboot-pending")
        ),
        "cuda-system-not-ready": "fail",
        "cuda-no-device": Emit(("fail",), explained_by=("container-gpus-hidden", "container-without-gpus")),
        "torch-cuda-unavailable": Emit(("fail",), explained_by=_CAUSES),
    },
)
def cuda_init(facts: Facts) -> list[Finding] | Skip:
    if not gpu_present(facts):
        return Skip("not_applicable", "no NVIDIA GPU on this machine")
    torch = facts.snapshot.target.torch
    assert torch is not None
    said = startup_error(facts)
    if torch.cuda_available and said is None:
        return [
            Finding(
                id="cuda-init",
                severity="ok",
                subject="torch",
                summary=f"CUDA starts: torch sees {torch.device_count} GPU(s).",
                evidence=[f"torch {torch.version}, CUDA {torch.cuda_version}"],
            )
        ]
    code = said.code if said else None
    text = said.text if said else None
    env = facts.snapshot.host.environment
    built = (
        f"torch {torch.version} (CUDA {torch.cuda_version}); "
        f"torch.cuda.is_available() = {torch.cuda_available}"
    )
    if code == 999:
        return [
            Finding(
                id="cuda-unknown-error",
                severity="fail",
                subject="torch",
                summary="CUDA fails to start with error 999 (unknown error) while NVML works: the "
                "unified-memory module is in a bad state, typically after suspend and resume.",
                evidence=[built, "NVML answers, so the driver itself is loaded"],
                error_text=text,
                fix=_RELOAD_UVM,
            )
        ]
    if code == 803:
        return [
            Finding(
                id="cuda-driver-mismatch",
                severity="fail",
                subject="torch",
                summary="CUDA refuses to start (error 803): the libcuda this process loads and the "
                "running kernel module are from different drivers.",
                evidence=[built, f"LD_LIBRARY_PATH={env.get('LD_LIBRARY_PATH', '(unset)')}"],
                error_text=text,
                fix="reboot after a driver upgrade; in a container, do not ship a libcuda.so in the image "
                "(the NVIDIA runtime mounts the host's); remove any driver copy from LD_LIBRARY_PATH",
            )
        ]
    if code == 802:
        return [
            Finding(
                id="cuda-system-not-ready",
                severity="fail",
                subject="torch",
                summary="CUDA is not ready (error 802, system not yet initialized): on an NVSwitch "
                "system (HGX/DGX) the fabric manager must be running before CUDA can start.",
                evidence=[built, f"{len(facts.healthy_gpus)} GPUs visible to NVML"],
                error_text=text,
                fix="sudo systemctl enable --now nvidia-fabricmanager (its version must equal the "
                "driver's: sudo apt install nvidia-fabricmanager-<branch>); check systemctl status "
                "nvidia-fabricmanager",
            )
        ]
    if code == 100:
        visible = env.get("CUDA_VISIBLE_DEVICES")
        return [
            Finding(
                id="cuda-no-device",
                severity="fail",
                subject="torch",
                summary="CUDA finds no device (error 100) although NVML lists GPUs.",
                evidence=[built, f"CUDA_VISIBLE_DEVICES={visible if visible is not None else '(unset)'}"],
                error_text=text,
                fix="unset CUDA_VISIBLE_DEVICES or set it to indices or UUIDs nvidia-smi -L lists (with "
                "MIG on, use the MIG-... UUIDs)"
                if visible is not None
                else "check that /dev/nvidia* exist and are readable by this user (ls -l /dev/nvidia*)",
            )
        ]
    fix = "see the driver findings above; if none, check CUDA_VISIBLE_DEVICES and that /dev/nvidia-uvm exists"
    if no_driver_text(said) and facts.snapshot.host.container:
        fix = (
            "the container has NVML but not libcuda: start it with "
            "NVIDIA_DRIVER_CAPABILITIES=compute,utility (or all) and --gpus all"
        )
    return [
        Finding(
            id="torch-cuda-unavailable",
            severity="fail",
            subject="torch",
            summary="PyTorch is a CUDA build and the GPU is there, but CUDA does not start.",
            evidence=[built, f"CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES', '(unset)')}"],
            error_text=text,
            fix=fix,
        )
    ]
