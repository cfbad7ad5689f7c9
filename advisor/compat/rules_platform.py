"""Rules about the platform around the GPU: the kernel module against the libraries on disk, the
modules CUDA needs, what each GPU can do for the packages installed, containers and WSL, and the
CUDA builds of TensorFlow and JAX."""

from __future__ import annotations

import re
import shlex

from packaging.version import Version

from advisor.compat.common import driver_cuda, gpu_ccs, gpu_present, version
from advisor.compat.findings import Emit, Facts, Finding, Skip, gpu_rule, rule
from advisor.compat.fixes import driver_advice_text
from advisor.compat.needs import GPUS, gpu_reading
from advisor.snapshot import Gpu

_VERSION = re.compile(r"\b(\d{3}\.\d+(?:\.\d+)?)\b")


def _driver_from(text: str | None) -> str | None:
    m = _VERSION.search(text or "")
    return m.group(1) if m else None


@rule(
    "driver-reboot-pending",
    "The loaded kernel module matches the driver libraries on disk",
    emits={"driver-reboot-pending": ("warn", "fail")},
)
def reboot_pending(facts: Facts) -> list[Finding] | Skip:
    host, nvml = facts.snapshot.host, facts.snapshot.nvml
    loaded = host.kernel_module_version
    if not loaded.ok:
        if loaded.unavailable == "not_found":
            return Skip("not_applicable", "no NVIDIA kernel module is loaded")
        return Skip("not_checked", f"/proc/driver/nvidia/version: {loaded.why()}")
    module = _driver_from(loaded.value)
    on_disk = sorted({v for f in host.nvml_libraries if (v := _driver_from(f))}, key=Version)
    if module is None or not on_disk:
        return Skip("not_checked", "the driver version on disk or of the module is not known")
    newest = on_disk[-1]
    if newest == module:
        return []
    if nvml.init_error == "lib_rm_version_mismatch":
        severity = "fail"
        summary = (
            f"The driver on disk is {newest} but the running kernel module is {module}: "
            "the upgrade is waiting for a reboot, and NVML and CUDA refuse to start."
        )
    else:
        severity = "warn"
        summary = (
            f"Driver libraries {newest} are on disk but kernel module {module} is running: "
            "the next process to load the new libraries will fail until you reboot."
        )
    return [
        Finding(
            id="driver-reboot-pending",
            severity=severity,
            subject="driver",
            summary=summary,
            evidence=[
                f"/proc/driver/nvidia/version: {loaded.value}",
                "user-space NVML libraries on disk: " + ", ".join(host.nvml_libraries),
            ],
            error_text=facts.compat.message("nvml_mismatch")
            + " | "
            + facts.compat.message("system_driver_mismatch"),
            fix="reboot; or, with no GPU process running: sudo rmmod nvidia_uvm nvidia_drm "
            "nvidia_modeset nvidia && sudo modprobe nvidia nvidia_uvm",
        )
    ]


@rule(
    "kernel-modules",
    "nvidia_uvm is loaded and /dev/nvidia-uvm exists; nouveau is not loaded beside nvidia",
    needs=(GPUS,),
    emits={"nouveau-loaded": "warn", "uvm-missing": "fail"},
)
def kernel_modules(facts: Facts) -> list[Finding] | Skip:
    host = facts.snapshot.host
    if host.wsl:
        return Skip("not_applicable", "WSL has no Linux NVIDIA kernel modules")
    modules, nodes = host.loaded_modules, host.device_nodes
    if not modules.ok and not nodes.ok:
        return Skip("not_checked", f"/proc/modules: {modules.why()}; /dev: {nodes.why()}")
    out = []
    if "nouveau" in host.modules:
        out.append(
            Finding(
                id="nouveau-loaded",
                severity="warn",
                subject="driver",
                summary="The open-source nouveau driver is loaded next to the NVIDIA driver.",
                evidence=["/proc/modules lists nouveau"],
                fix="blacklist it: echo 'blacklist nouveau' | sudo tee /etc/modprobe.d/blacklist-"
                "nouveau.conf && sudo update-initramfs -u, then reboot",
            )
        )
    missing = []
    if modules.ok and "nvidia" in host.modules and "nvidia_uvm" not in host.modules:
        missing.append("the nvidia_uvm kernel module is not loaded (/proc/modules)")
    if nodes.ok and host.nodes and "nvidia-uvm" not in host.nodes:
        missing.append("/dev/nvidia-uvm does not exist")
    if missing:
        out.append(
            Finding(
                id="uvm-missing",
                severity="fail",
                subject="driver",
                summary="NVML works but CUDA cannot start: the unified-memory module is missing.",
                evidence=missing,
                error_text=facts.compat.message("cuda_unknown_error"),
                fix="sudo modprobe nvidia_uvm (or sudo nvidia-modprobe -u -c 0, which also creates "
                "/dev/nvidia-uvm); in a container, start it with the NVIDIA runtime (--gpus all)",
            )
        )
    return out


# Feature -> minimum compute capability, and the packages that need it.
FEATURES = [
    ("bf16", (8, 0)),
    ("TF32", (8, 0)),
    ("FlashAttention-2", (8, 0)),
    ("torch.compile / Triton", (7, 0)),
    ("FP8", (8, 9)),
]
PACKAGE_NEEDS = {
    "flash-attn": ("FlashAttention-2", "flash_attn_unsupported_gpu"),
    "flash_attn": ("FlashAttention-2", "flash_attn_unsupported_gpu"),
    "triton": ("torch.compile / Triton", "triton_too_old_gpu"),
}


@gpu_rule(
    "gpu-features",
    "Each GPU supports the features the installed packages need",
    needs=(gpu_reading("compute_capability"),),
    emits={"gpu-features": "info", "package-needs-newer-gpu": "warn"},
)
def features(facts: Facts, gpu: Gpu) -> list[Finding]:
    env = facts.snapshot.target.environment
    packages = env.packages if env else {}
    cc_text = gpu.compute_capability.value or ""
    cc = tuple(int(x) for x in cc_text.split("."))
    table = [
        f"{name}: {'yes' if cc >= need else 'no'} (needs {need[0]}.{need[1]}+)" for name, need in FEATURES
    ]
    lacking = {name for name, need in FEATURES if cc < need}
    bad = [
        (pkg, ver, PACKAGE_NEEDS[pkg])
        for pkg, ver in packages.items()
        if pkg in PACKAGE_NEEDS and PACKAGE_NEEDS[pkg][0] in lacking
    ]
    if bad:
        pkg, ver, (feature, message) = bad[0]
        return [
            Finding(
                id="package-needs-newer-gpu",
                severity="warn",
                subject=gpu.label,
                summary=f"{pkg} {ver} is installed but needs {feature}, which this GPU "
                f"(compute capability {cc_text}) does not have.",
                evidence=[f"installed: {', '.join(f'{p} {v}' for p, v, _ in bad)}", *table],
                error_text=facts.compat.message(message, name=gpu.name.value or "GPU", cc=cc_text),
                fix="use the fallback path (attn_implementation='sdpa' instead of flash_attention_2; "
                "TORCHDYNAMO_DISABLE=1 instead of torch.compile) or a newer GPU",
            )
        ]
    return [
        Finding(
            id="gpu-features",
            severity="info",
            subject=gpu.label,
            summary=f"Compute capability {cc_text}: "
            + " · ".join(f"{name} {'yes' if cc >= need else 'no'}" for name, need in FEATURES)
            + ".",
            evidence=table,
        )
    ]


@rule(
    "wsl-container",
    "WSL 2 (not 1); a container's runtime gives it its GPUs",
    emits={"wsl1": "fail", "container-gpus-hidden": "warn"},
)
def wsl_container(facts: Facts) -> list[Finding] | Skip:
    host = facts.snapshot.host
    if not host.wsl and not host.container:
        return Skip("not_applicable", "neither WSL nor a container")
    out = []
    if host.wsl == "wsl1":
        out.append(
            Finding(
                id="wsl1",
                severity="fail",
                subject="host",
                summary="This is WSL 1, where CUDA cannot run.",
                evidence=["/proc/version: WSL 1 kernel"],
                error_text=facts.compat.message("wsl1"),
                fix="wsl --set-version <distro> 2 (from Windows), with the Windows NVIDIA driver installed",
            )
        )
    visible = host.environment.get("NVIDIA_VISIBLE_DEVICES")
    if host.container and visible in ("void", "none", ""):
        out.append(
            Finding(
                id="container-gpus-hidden",
                severity="warn",
                subject="host",
                summary=f"NVIDIA_VISIBLE_DEVICES={visible!r}: the container runtime gives this "
                "container no GPU.",
                evidence=[f"{host.container} container"],
                fix="start the container with --gpus all (or NVIDIA_VISIBLE_DEVICES=all)",
            )
        )
    return out


@rule(
    "frameworks-vs-driver",
    "TensorFlow's and JAX's CUDA builds are supported by the driver, and see the GPUs",
    needs=(GPUS,),
    emits={
        "tensorflow-driver-too-old": "fail",
        "jax-driver-too-old": "fail",
        # a build the driver cannot run sees no GPU either: one cause, one failure
        "tensorflow-sees-no-gpu": Emit(("fail",), explained_by=("tensorflow-driver-too-old",)),
        "jax-sees-no-gpu": Emit(("fail",), explained_by=("jax-driver-too-old",)),
    },
)
def frameworks(facts: Facts) -> list[Finding] | Skip:
    target = facts.snapshot.target
    supported = version(driver_cuda(facts))
    present = [(n, fw) for n, fw in (("TensorFlow", target.tensorflow), ("JAX", target.jax)) if fw]
    if not present:
        return Skip("not_applicable", "neither TensorFlow nor JAX is installed")
    if supported is None or not gpu_present(facts):
        return Skip("not_checked", "the driver's CUDA version is not known")
    out: list[Finding] = []
    for name, fw in present:
        built = version(fw.cuda_version)
        if built is not None:
            too_new = built.major > supported.major or (
                name == "TensorFlow"
                and built.major == supported.major
                and built.minor > supported.minor
                and built.major < 11
            )
            if too_new:
                out.append(
                    Finding(
                        id=f"{name.lower()}-driver-too-old",
                        severity="fail",
                        subject=name,
                        summary=f"{name} {fw.version} was built for CUDA {fw.cuda_version}; this driver "
                        f"supports CUDA {supported}.",
                        evidence=[
                            f"{name} build: CUDA {fw.cuda_version}, cuDNN {fw.cudnn_version or '?'}",
                            f"driver supports CUDA up to {supported}",
                        ],
                        error_text="Cannot dlopen some GPU libraries. ... Skipping registering GPU devices..."
                        if name == "TensorFlow"
                        else facts.compat.message("insufficient_driver"),
                        fix=_framework_fix(facts, name),
                    )
                )
        if fw.gpu_count == 0:
            out.append(
                Finding(
                    id=f"{name.lower()}-sees-no-gpu",
                    severity="fail",
                    subject=name,
                    summary=f"{name} sees no GPU although NVML does.",
                    evidence=[fw.error or f"{name} listed 0 GPU devices"],
                    error_text="Cannot dlopen some GPU libraries. Please make sure the missing libraries "
                    "mentioned above are installed properly if you would like to use GPU."
                    if name == "TensorFlow"
                    else None,
                    fix=f"install the CUDA wheels {name} expects (pip install '{name.lower()}[and-cuda]' "
                    "for TensorFlow, 'jax[cuda12]' for JAX)",
                )
            )
    return out


def _framework_fix(facts: Facts, name: str) -> str:
    """The newest build of that framework this driver runs, as a command; else the driver."""
    key = name.lower()
    build = facts.compat.newest_framework(key, facts.snapshot.nvml.driver_version.value or "")
    if build is None:
        advice = driver_advice_text(facts, gpu_ccs(facts))
        return f"upgrade the NVIDIA driver to {advice or 'a newer branch'}"
    spec = (
        f"tensorflow[and-cuda]=={build.version}.*"
        if key == "tensorflow"
        else f"jax[cuda{Version(build.cuda).major}]"
    )
    python = facts.snapshot.target.executable
    return (
        f"install the newest {name} this driver runs ({name} {build.version}+, CUDA {build.cuda}): "
        + shlex.join([python, "-m", "pip", "install", "-U", spec])
    )
