"""Rules about the driver: is there one, does it load, is it new enough for the framework."""

from __future__ import annotations

from packaging.version import Version

from advisor.compat.common import driver_cuda, suggestion, torch_cuda, version
from advisor.compat.findings import Facts, Finding, rule

RELOAD = (
    "reboot; or, with no GPU process running, reload the kernel modules: "
    "sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia nvidia_uvm"
)


@rule("driver", "The NVIDIA driver loads and NVML answers; a GPU without a driver is found")
def driver_present(facts: Facts) -> list[Finding]:
    snap = facts.snapshot
    nvml, host = snap.nvml, snap.host
    msg = facts.compat.message
    on_bus = [f"{p.address} device {p.device_id} (driver: {p.driver or 'none'})" for p in host.pci_gpus]
    if nvml.init_error == "lib_rm_version_mismatch":
        evidence = [f"NVML: {nvml.init_detail}"]
        if host.kernel_module_version:
            evidence.append(f"loaded kernel module: {host.kernel_module_version}")
        return [
            Finding(
                id="driver-library-mismatch",
                severity="fail",
                subject="driver",
                summary="The NVIDIA user-space libraries and the loaded kernel module are different "
                "versions (a driver was upgraded without a reboot).",
                evidence=evidence,
                error_text=msg("nvml_mismatch"),
                fix=RELOAD,
            )
        ]
    if nvml.init_error in ("library_not_found", "driver_not_loaded"):
        what = (
            "the NVML library (libnvidia-ml.so.1) is not installed"
            if nvml.init_error == "library_not_found"
            else "the NVIDIA kernel module is not loaded"
        )
        if on_bus:
            nouveau = any(p.driver == "nouveau" for p in host.pci_gpus)
            fix = (
                "install the NVIDIA driver (e.g. `sudo ubuntu-drivers install` on Ubuntu, or "
                "NVIDIA's packages for your distribution), then reboot"
            )
            if nouveau:
                fix = (
                    "the open-source nouveau driver holds the GPU: blacklist it "
                    "(echo 'blacklist nouveau' | sudo tee /etc/modprobe.d/blacklist-nouveau.conf;"
                    " sudo update-initramfs -u), install the NVIDIA driver, and reboot"
                )
            elif nvml.init_error == "driver_not_loaded":
                fix = (
                    "load the module (sudo modprobe nvidia) and read `sudo dmesg | grep -i nvrm` "
                    "if it refuses (Secure Boot needs the module signed); reboot after installs"
                )
            return [
                Finding(
                    id="gpu-without-driver",
                    severity="fail",
                    subject="driver",
                    summary=f"There is an NVIDIA GPU on the PCI bus but {what}.",
                    evidence=[*on_bus, f"NVML: {nvml.init_detail}"],
                    error_text=msg("no_driver"),
                    fix=fix,
                )
            ]
        return [_no_gpu(facts, f"NVML: {nvml.init_detail}")]
    if nvml.init_error is not None:
        return [
            Finding(
                id="nvml-unavailable",
                severity="warn",
                subject="driver",
                summary="NVML could not be used, so the GPUs could not be inspected.",
                evidence=[f"{nvml.init_error}: {nvml.init_detail}"],
                fix="pip install nvidia-ml-py"
                if nvml.init_error == "module_missing"
                else "run advisor as a user allowed to open /dev/nvidia* (e.g. in the video group)",
            )
        ]
    if not nvml.gpus:
        return [_no_gpu(facts, "NVML initialised and reports 0 GPUs")]
    return [
        Finding(
            id="driver",
            severity="ok",
            subject="driver",
            summary=f"NVIDIA driver {nvml.driver_version.value or '?'} is loaded and sees "
            f"{len(nvml.gpus)} GPU{'s' if len(nvml.gpus) != 1 else ''}.",
            evidence=[f"driver supports CUDA up to {driver_cuda(facts) or '?'}"],
        )
    ]


def _no_gpu(facts: Facts, detail: str) -> Finding:
    host = facts.snapshot.host
    evidence = [detail]
    if host.pci_scanned:
        evidence.append("no NVIDIA display or 3D controller on the PCI bus (sysfs)")
    if host.container and not host.device_nodes:
        evidence.append(f"running in a {host.container} container without /dev/nvidia* nodes")
    fix = None
    if host.container and not host.device_nodes:
        fix = (
            "start the container with GPU access: docker run --gpus all ... "
            "(needs the NVIDIA Container Toolkit on the host)"
        )
    return Finding(
        id="no-nvidia-gpu",
        severity="fail" if facts.require_gpu else "info",
        subject="host",
        summary="No NVIDIA GPU is visible on this machine.",
        evidence=evidence,
        error_text=facts.compat.message("no_device") if facts.require_gpu else None,
        fix=fix,
    )


@rule("driver-too-old-for-cuda", "The driver supports the CUDA version the framework was built with")
def driver_vs_framework(facts: Facts) -> list[Finding]:
    built = version(torch_cuda(facts))
    supported = version(driver_cuda(facts))
    if built is None or supported is None or not facts.snapshot.nvml.gpus:
        return []
    torch = facts.snapshot.target.torch
    assert torch is not None
    driver = facts.snapshot.nvml.driver_version.value or "?"
    facts_line = (
        f"driver {driver} supports CUDA up to {supported}; torch {torch.version} was built with CUDA {built}"
    )
    if Version(f"{built.major}.{built.minor}") <= supported:
        return [
            Finding(
                id="driver-too-old-for-cuda",
                severity="ok",
                subject="driver",
                summary=f"The driver supports the CUDA {built} this PyTorch was built with.",
                evidence=[facts_line],
            )
        ]
    row = facts.compat.toolkit_driver(str(built))
    full = f"{row.linux_min_driver} (Linux) / {row.windows_min_driver or 'n/a'} (Windows)" if row else "?"
    floor = facts.compat.minor_version_floor(built.major)
    if built.major == supported.major and built.major >= 11 and floor is not None:
        return [
            Finding(
                id="driver-too-old-for-cuda",
                severity="warn",
                subject="driver",
                summary=f"PyTorch's CUDA {built} runs on this CUDA {supported} driver only through "
                "minor-version compatibility: features that need a newer driver fail, and PTX cannot "
                "be JIT-compiled.",
                evidence=[
                    facts_line,
                    f"CUDA {built} ships with driver {full}; the CUDA "
                    f"{built.major}.x floor is {floor.linux_min_driver}",
                ],
                error_text=facts.compat.message("unsupported_ptx"),
                fix=f"upgrade the NVIDIA driver to {row.linux_min_driver if row else 'a newer one'} "
                "or newer" + _or_keep_driver(facts),
            )
        ]
    need = floor.linux_min_driver if floor and built.major >= 11 else (row.linux_min_driver if row else "?")
    return [
        Finding(
            id="driver-too-old-for-cuda",
            severity="fail",
            subject="driver",
            summary=f"The NVIDIA driver is too old for this PyTorch: it supports CUDA {supported}, "
            f"PyTorch needs CUDA {built}.",
            evidence=[
                facts_line,
                f"CUDA {built} needs driver {need} or newer (Linux); it shipped with {full}",
            ],
            error_text=facts.compat.message("insufficient_driver"),
            fix=f"upgrade the NVIDIA driver to {need} or newer" + _or_keep_driver(facts),
        )
    ]


def _or_keep_driver(facts: Facts) -> str:
    """The other way out: a PyTorch build this driver already runs, when there is one."""
    found = suggestion(facts)
    if found is None or found.needs_driver:
        return ""
    return f"; or keep the driver and install PyTorch {found.torch} for CUDA {found.cuda}: {found.command}"
