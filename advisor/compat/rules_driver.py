"""Rules about the driver: is there one, does it load, is it new enough for the frameworks."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from advisor.compat.arch import driver_floor
from advisor.compat.common import driver_cuda, gpu_ccs, gpu_present, startup_error, torch_cuda, version
from advisor.compat.findings import Facts, Finding, Skip, rule
from advisor.compat.fixes import driver_advice_text, fix_of, suggestion
from advisor.compat.needs import DRIVER_CUDA, DRIVER_VERSION, GPUS, TORCH_CUDA

RELOAD = (
    "reboot; or, with no GPU process running, reload the kernel modules: "
    "sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia nvidia_uvm"
)


@rule(
    "driver",
    "The NVIDIA driver loads and NVML answers; a GPU without a usable driver is found and named",
    emits={
        "driver": "ok",
        "driver-library-mismatch": "fail",
        "driver-not-loaded": "fail",
        "gpu-without-driver": "fail",
        "container-without-gpus": "fail",
        "tegra-platform": "info",
        "nvml-unavailable": "warn",
        "no-nvidia-gpu": ("info", "fail"),
    },
)
def driver_present(facts: Facts) -> list[Finding]:
    nvml = facts.snapshot.nvml
    if nvml.init_error == "lib_rm_version_mismatch":
        return [_library_mismatch(facts)]
    if nvml.init_error == "driver_not_loaded":
        return [_module_not_loaded(facts)]
    if nvml.init_error == "library_not_found":
        return [_no_library(facts)]
    if nvml.init_error is not None:
        return [_nvml_unusable(facts)]
    if not nvml.gpus:
        return [_no_gpu(facts, "NVML started and reports 0 GPUs")]
    n = len(nvml.gpus)
    return [
        Finding(
            id="driver",
            severity="ok",
            subject="driver",
            summary=f"NVIDIA driver {nvml.driver_version.value or '?'} is loaded and sees "
            f"{n} GPU{'s' if n != 1 else ''}.",
            evidence=[f"driver supports CUDA up to {driver_cuda(facts) or '?'}"],
        )
    ]


def _on_bus(facts: Facts) -> list[str]:
    return [
        f"{p.address} device {p.device_id} (kernel driver bound: {p.driver or 'none'})"
        for p in facts.snapshot.host.pci_nvidia
    ]


def _library_mismatch(facts: Facts) -> Finding:
    host, nvml = facts.snapshot.host, facts.snapshot.nvml
    evidence = [f"NVML: {nvml.init_detail}"]
    if host.kernel_module_version.value:
        evidence.append(f"loaded kernel module: {host.kernel_module_version.value}")
    if host.nvml_libraries:
        evidence.append("user-space NVML on disk: " + ", ".join(host.nvml_libraries))
    return Finding(
        id="driver-library-mismatch",
        severity="fail",
        subject="driver",
        summary="The NVIDIA user-space libraries and the loaded kernel module are different versions "
        "(the driver was upgraded and the old module still runs).",
        evidence=evidence,
        error_text=facts.compat.message("nvml_mismatch"),
        fix=RELOAD,
    )


def _module_not_loaded(facts: Facts) -> Finding:
    """NVML found its library but not the kernel module: the driver is installed, not running."""
    host, nvml = facts.snapshot.host, facts.snapshot.nvml
    evidence = [f"NVML: {nvml.init_detail}"]
    if host.nvml_libraries:
        evidence.append("user-space driver installed: " + ", ".join(host.nvml_libraries))
    evidence += _on_bus(facts) or [
        "PCI bus not readable: " + host.pci_gpus.why()
        if not host.pci_gpus.ok
        else "no NVIDIA device on the PCI bus (sysfs)"
    ]
    nouveau = "nouveau" in host.modules or any(p.driver == "nouveau" for p in host.pci_nvidia)
    secure = host.secure_boot.value
    if host.secure_boot.ok:
        evidence.append(f"Secure Boot: {'enabled' if secure else 'disabled'} (EFI SecureBoot variable)")
    if nouveau:
        evidence.append("the nouveau driver is loaded and holds the GPU")
        fix = (
            "blacklist nouveau (echo 'blacklist nouveau' | sudo tee /etc/modprobe.d/blacklist-nouveau.conf"
            " && sudo update-initramfs -u), then reboot so the nvidia module can take the GPU"
        )
    elif secure:
        fix = (
            "Secure Boot refuses the nvidia module DKMS built ('Key was rejected by service'): enroll "
            "the key DKMS signs with (Ubuntu: sudo mokutil --import /var/lib/shim-signed/mok/MOK.der; "
            "DKMS 3: /var/lib/dkms/mok.pub), reboot and choose 'Enroll MOK'; or disable Secure Boot in "
            "the firmware; then sudo modprobe nvidia"
        )
    else:
        fix = (
            "load it: sudo modprobe nvidia; if it refuses, the reason is in sudo dmesg | grep -i -e nvidia "
            "-e nvrm ('Key was rejected by service': Secure Boot, check mokutil --sb-state; 'version magic' "
            "or 'Unknown symbol': the module was built for another kernel, reinstall the driver with DKMS "
            "for this kernel)"
        )
    return Finding(
        id="driver-not-loaded",
        severity="fail",
        subject="driver",
        summary="The NVIDIA driver is installed but its kernel module is not loaded, so no GPU can be used.",
        evidence=evidence,
        error_text=facts.compat.message("nvidia_smi_no_driver"),
        fix=fix,
    )


def _no_library(facts: Facts) -> Finding:
    """No libnvidia-ml: no driver installed, a container without the driver mounted, or a Jetson."""
    host = facts.snapshot.host
    torch = facts.snapshot.target.torch
    if host.tegra_release:
        seen = [
            f"cuda:{d.index} {d.name} (capability {d.capability})" for d in (torch.devices if torch else [])
        ]
        return Finding(
            id="tegra-platform",
            severity="info",
            subject="host",
            summary="This is an NVIDIA Jetson (L4T): it has no NVML, so its integrated GPU is checked "
            "through the target's torch.",
            evidence=[f"/etc/nv_tegra_release: {host.tegra_release}", *(seen or ["torch sees no GPU"])],
        )
    if torch is not None and any(d.kernel_ok for d in torch.devices):
        return _nvml_unusable(facts)  # CUDA works without NVML: only the health readings are missing
    on_bus = _on_bus(facts)
    # A container proves it expects a GPU by the host's GPU showing in sysfs, or by the NVIDIA
    # image variables; a plain container on a machine without one just has no GPU.
    wanted = host.environment.get("NVIDIA_VISIBLE_DEVICES") not in (None, "", "void", "none")
    if host.container and (on_bus or wanted or gpu_present(facts)):
        nodes = host.device_nodes
        evidence = [f"running in a {host.container} container", f"NVML: {facts.snapshot.nvml.init_detail}"]
        evidence.append(
            "no /dev/nvidia* device nodes"
            if nodes.ok and not nodes.value
            else (
                f"/dev: {', '.join(nodes.value or [])}" if nodes.ok else f"/dev not readable: {nodes.why()}"
            )
        )
        if on_bus:
            evidence += [f"host GPU visible in sysfs: {line}" for line in on_bus]
        if wanted:
            evidence.append(f"NVIDIA_VISIBLE_DEVICES={host.environment['NVIDIA_VISIBLE_DEVICES']}")
        return Finding(
            id="container-without-gpus",
            severity="fail",
            subject="host",
            summary="This container was started without GPU access: the NVIDIA driver libraries and "
            "device nodes are not mounted into it.",
            evidence=evidence,
            error_text=facts.compat.message("no_driver"),
            fix="start it with the NVIDIA runtime: docker run --gpus all ... (the host needs the NVIDIA "
            "Container Toolkit: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl "
            "restart docker); in Kubernetes, request nvidia.com/gpu in the pod's resources.limits",
        )
    if on_bus:
        nouveau = any(p.driver == "nouveau" for p in host.pci_nvidia)
        advice = driver_advice_text(facts, gpu_ccs(facts))
        advice = advice or "e.g. sudo ubuntu-drivers install on Ubuntu"
        fix = f"install the NVIDIA driver, {advice}, then reboot"
        if nouveau:
            fix = (
                "the open-source nouveau driver holds the GPU: blacklist it "
                "(echo 'blacklist nouveau' | sudo tee /etc/modprobe.d/blacklist-nouveau.conf;"
                " sudo update-initramfs -u), install the NVIDIA driver, and reboot"
            )
        return Finding(
            id="gpu-without-driver",
            severity="fail",
            subject="driver",
            summary="There is an NVIDIA GPU on the PCI bus but no NVIDIA driver is installed "
            "(libnvidia-ml.so.1 is missing).",
            evidence=[*on_bus, f"NVML: {facts.snapshot.nvml.init_detail}"],
            error_text=facts.compat.message("no_driver"),
            fix=fix,
        )
    return _no_gpu(facts, f"NVML: {facts.snapshot.nvml.init_detail}")


def _nvml_unusable(facts: Facts) -> Finding:
    nvml = facts.snapshot.nvml
    torch = facts.snapshot.target.torch
    works = torch is not None and any(d.kernel_ok for d in torch.devices)
    fixes = {
        "module_missing": "reinstall advisor so its nvidia-ml-py dependency is there "
        "(pipx reinstall gpu-advisor, or pip install nvidia-ml-py in advisor's environment)",
        "no_permission": "run advisor as a user allowed to open /dev/nvidia* (ls -l /dev/nvidia*; "
        "usually the video or render group: sudo usermod -aG video $USER, then log in again)",
        "library_not_found": "start the container with NVIDIA_DRIVER_CAPABILITIES=compute,utility "
        "(utility mounts libnvidia-ml and nvidia-smi)"
        if facts.snapshot.host.container
        else "install the driver's NVML library (libnvidia-ml.so.1, in the driver's utils package)",
    }
    return Finding(
        id="nvml-unavailable",
        severity="warn",
        subject="driver",
        summary="NVML could not be used, so the GPUs' health could not be read"
        + ("; CUDA itself works (a kernel ran)." if works else "."),
        evidence=[f"{nvml.init_error}: {nvml.init_detail}"],
        fix=fixes.get(nvml.init_error or "", "read nvidia-smi's own message, and sudo dmesg | grep -i nvrm"),
    )


def _no_gpu(facts: Facts, detail: str) -> Finding:
    host = facts.snapshot.host
    evidence = [detail]
    if host.pci_gpus.ok:
        evidence.append("no NVIDIA display or 3D controller on the PCI bus (sysfs)")
    else:
        evidence.append(f"the PCI bus could not be read ({host.pci_gpus.why()})")
    return Finding(
        id="no-nvidia-gpu",
        severity="fail" if facts.require_gpu else "info",
        subject="host",
        summary="No NVIDIA GPU is visible on this machine.",
        evidence=evidence,
        error_text=facts.compat.message("no_device") if facts.require_gpu else None,
        fix="on a cloud instance, pick a GPU instance type; on a desktop, check the card is seated and "
        "enabled in the firmware"
        if facts.require_gpu
        else None,
    )


@rule(
    "driver-cuda",
    "The driver runs the CUDA PyTorch was built with (outright, or through minor-version compatibility)",
    needs=(DRIVER_CUDA, GPUS, TORCH_CUDA),
    emits={"driver-cuda": "ok", "driver-too-old-for-cuda": "fail"},
)
def driver_vs_torch(facts: Facts) -> list[Finding] | Skip:
    built = version(torch_cuda(facts))
    supported = version(driver_cuda(facts))
    if built is None or supported is None:
        return Skip("not_checked", "the CUDA version of torch or of the driver is not known")
    torch = facts.snapshot.target.torch
    assert torch is not None
    driver = facts.snapshot.nvml.driver_version.value or "?"
    facts_line = (
        f"driver {driver} supports CUDA up to {supported}; torch {torch.version} was built with CUDA {built}"
    )
    floor = driver_floor(facts.compat, str(built))
    if Version(f"{built.major}.{built.minor}") <= supported:
        return [_runs(f"The driver supports the CUDA {built} this PyTorch was built with.", facts_line)]
    through = built.major == supported.major and built.major >= 11 and floor is not None
    if through and _at_least(driver, floor or ""):
        # PyTorch wheels carry compiled kernels, so the CUDA family floor is all they need (no PTX
        # JIT); a GPU reached only through PTX is arch-ptx-jit's concern.
        return [
            _runs(
                f"The driver runs this PyTorch's CUDA {built} through minor-version compatibility.",
                facts_line,
                f"CUDA {built.major}.x builds run on driver {floor} or newer (NVIDIA's minor-version "
                "compatibility); a newer driver adds features, not correctness",
            )
        ]
    row = facts.compat.toolkit_driver(str(built))
    full = f"{row.linux_min_driver} (Linux) / {row.windows_min_driver or 'n/a'} (Windows)" if row else "?"
    said = startup_error(facts)
    torch_text = said.text if said is not None and said.code == 35 and said.found_version else None
    return [
        Finding(
            id="driver-too-old-for-cuda",
            severity="fail",
            subject="driver",
            summary=f"The NVIDIA driver is too old for this PyTorch: it supports CUDA {supported}, "
            f"PyTorch needs CUDA {built}.",
            evidence=[
                facts_line,
                f"CUDA {built} needs driver {floor or '?'} or newer (Linux); it shipped with {full}",
            ],
            error_text=torch_text or facts.compat.message("torch_driver_too_old", found=_found(facts)),
            **fix_of(suggestion(facts), f"upgrade the NVIDIA driver to {floor or 'a newer one'} or newer"),
        )
    ]


def _runs(summary: str, *evidence: str) -> Finding:
    return Finding(id="driver-cuda", severity="ok", subject="driver", summary=summary, evidence=[*evidence])


def _at_least(driver: str, floor: str) -> bool:
    try:
        return Version(driver) >= Version(floor)
    except InvalidVersion:
        return False


def _found(facts: Facts) -> str:
    """cudaDriverGetVersion's number, as torch prints it: 12040 for CUDA 12.4."""
    v = facts.snapshot.nvml.cuda_driver_version.value
    if v is not None:
        return str(v)
    supported = version(driver_cuda(facts))
    return f"{supported.major * 1000 + supported.minor * 10}" if supported else "N"


@rule(
    "driver-frameworks",
    "The driver can run the current PyTorch release (checked even where torch is absent or CPU-only)",
    needs=(DRIVER_VERSION, GPUS),
    emits={"driver-frameworks": "ok", "driver-too-old-for-frameworks": "fail"},
)
def driver_vs_current(facts: Facts) -> list[Finding] | Skip:
    if TORCH_CUDA.ask(facts, None) is None:
        return Skip("not_applicable", "torch is a CUDA build: driver-cuda checks its own CUDA")
    newest = max(facts.compat.torch_releases, key=lambda r: Version(r.torch))
    driver = facts.snapshot.nvml.driver_version.value or ""
    try:
        have = Version(driver)
    except InvalidVersion:
        return Skip("not_checked", f"driver version {driver!r} is not a version")
    floors = {v.cuda: driver_floor(facts.compat, v.cuda) for v in newest.variants}
    runs = [cuda for cuda, floor in floors.items() if floor is not None and Version(floor) <= have]
    if runs:
        return [
            Finding(
                id="driver-frameworks",
                severity="ok",
                subject="driver",
                summary=f"The driver runs the current PyTorch {newest.torch} "
                f"(CUDA {', '.join(runs)} builds).",
                evidence=[f"driver {driver}"],
            )
        ]
    lowest = min((f for f in floors.values() if f), key=Version, default="?")
    advice = driver_advice_text(facts, gpu_ccs(facts))
    return [
        Finding(
            id="driver-too-old-for-frameworks",
            severity="fail",
            subject="driver",
            summary=f"Driver {driver} is too old for every build of the current PyTorch ({newest.torch}): "
            "a framework installed today will not start on it.",
            evidence=[
                f"driver {driver} supports CUDA up to {driver_cuda(facts) or '?'}",
                f"PyTorch {newest.torch} builds: CUDA {', '.join(floors)}; the oldest needs driver {lowest}",
            ],
            error_text=facts.compat.message("torch_driver_too_old", found=_found(facts)),
            **fix_of(suggestion(facts), f"upgrade the NVIDIA driver to {advice or f'{lowest} or newer'}"),
        )
    ]
