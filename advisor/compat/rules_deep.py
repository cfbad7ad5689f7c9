"""Deeper rules: the failures hidden between layers (kernel module vs libraries, shadowed CUDA
libraries, forward-compatibility libraries, extension toolchains, GPU features, containers and
WSL, TensorFlow/JAX builds)."""

from __future__ import annotations

import os
import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from advisor.compat.common import driver_cuda, version
from advisor.compat.findings import Facts, Finding, rule

_VERSION = re.compile(r"\b(\d{3}\.\d+(?:\.\d+)?)\b")
# Forward compatibility (cuda-compat) runs only on data-center and some professional boards.
# https://docs.nvidia.com/deploy/cuda-compatibility/forward-compatibility.html
_COMPAT_BRANDS = {"tesla", "nvidia", "nvidia_rtx", "quadro_rtx", "quadro"}


def _driver_from(text: str | None) -> str | None:
    m = _VERSION.search(text or "")
    return m.group(1) if m else None


@rule("driver-reboot-pending", "The loaded kernel module matches the driver libraries on disk")
def reboot_pending(facts: Facts) -> list[Finding]:
    host, nvml = facts.snapshot.host, facts.snapshot.nvml
    module = _driver_from(host.kernel_module_version)
    on_disk = sorted({v for f in host.nvml_libraries if (v := _driver_from(f))}, key=Version)
    if module is None or not on_disk:
        return []
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
                f"/proc/driver/nvidia/version: {host.kernel_module_version}",
                "user-space NVML libraries on disk: " + ", ".join(host.nvml_libraries),
            ],
            error_text=facts.compat.message("nvml_mismatch")
            + " | "
            + facts.compat.message("system_driver_mismatch"),
            fix="reboot; or, with no GPU process running: sudo rmmod nvidia_uvm nvidia_drm "
            "nvidia_modeset nvidia && sudo modprobe nvidia nvidia_uvm",
        )
    ]


@rule("kernel-modules", "nvidia_uvm is loaded and /dev/nvidia-uvm exists; nouveau is not loaded")
def kernel_modules(facts: Facts) -> list[Finding]:
    host, nvml = facts.snapshot.host, facts.snapshot.nvml
    out = []
    if "nouveau" in host.loaded_modules and nvml.init_error is None and nvml.gpus:
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
    if nvml.init_error is not None or not nvml.gpus or host.wsl:
        return out
    missing = []
    if host.loaded_modules and "nvidia" in host.loaded_modules and "nvidia_uvm" not in host.loaded_modules:
        missing.append("the nvidia_uvm kernel module is not loaded (/proc/modules)")
    if host.device_nodes and "nvidia-uvm" not in host.device_nodes:
        missing.append("/dev/nvidia-uvm does not exist")
    if missing:
        out.append(
            Finding(
                id="uvm-missing",
                severity="fail",
                subject="driver",
                summary="NVML works but CUDA cannot start: the unified-memory module is missing "
                "(common after suspend/resume).",
                evidence=missing,
                error_text=facts.compat.message("cuda_unknown_error"),
                fix="sudo modprobe nvidia_uvm (after a suspend: sudo rmmod nvidia_uvm && sudo modprobe "
                "nvidia_uvm); in a container, start it with the NVIDIA runtime (--gpus all)",
            )
        )
    return out


def _site(path: str) -> bool:
    """Shipped with the Python packages (torch/lib, the nvidia-* wheels), not the system."""
    return "site-packages" in path or "dist-packages" in path


@rule("library-shadowing", "torch loads the CUDA libraries it ships, not others on LD_LIBRARY_PATH")
def shadowing(facts: Facts) -> list[Finding]:
    env = facts.snapshot.target.environment
    torch = facts.snapshot.target.torch
    if env is None or torch is None or not torch.cuda_version:
        return []
    ld_dirs = [d for d in facts.snapshot.host.environment.get("LD_LIBRARY_PATH", "").split(":") if d]
    ships_own = bool(env.wheels_required) or any(_site(lib.path) for lib in env.libraries)
    foreign = [lib for lib in env.libraries if lib.library != "libcuda" and not _site(lib.path) and ships_own]
    if not foreign:
        return []
    from_ld = [lib for lib in foreign if os.path.dirname(lib.path) in ld_dirs]
    return [
        Finding(
            id="library-shadowing",
            severity="warn",
            subject="torch",
            summary="torch loaded CUDA libraries from outside its own install: a version mismatch "
            "between them breaks imports or kernels.",
            evidence=[f"{lib.library} from {lib.path}" for lib in foreign]
            + ([f"LD_LIBRARY_PATH={':'.join(ld_dirs)}"] if ld_dirs else []),
            error_text=facts.compat.message("nvjitlink_undefined_symbol"),
            fix=(
                "remove the CUDA directories from LD_LIBRARY_PATH for this environment (unset "
                "LD_LIBRARY_PATH, or drop the CUDA_HOME/lib64 export from your shell profile)"
            )
            if from_ld
            else "check ldconfig -p | grep -E 'libcudnn|libcublas' for system copies "
            "that win over the wheel's; reinstall torch so its nvidia-* wheels are used",
        )
    ]


@rule("nvidia-wheels", "The nvidia-* wheels installed are the versions this torch was built for")
def wheels(facts: Facts) -> list[Finding]:
    env = facts.snapshot.target.environment
    if env is None or not env.wheels_required:
        return []
    problems = []
    for line in env.wheels_required:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        have = env.wheels_installed.get(req.name)
        if have is None:
            problems.append(f"{req.name} is missing (torch needs {req.specifier or 'it'})")
            continue
        try:
            if req.specifier and Version(have) not in req.specifier:
                problems.append(f"{req.name} {have} installed; torch needs {req.specifier}")
        except InvalidVersion:
            continue
    if not problems:
        return []
    return [
        Finding(
            id="nvidia-wheel-mismatch",
            severity="warn",
            subject="torch",
            summary="The NVIDIA library wheels do not match what this torch was built against "
            "(another package upgraded them).",
            evidence=problems,
            error_text=facts.compat.message("nvjitlink_undefined_symbol"),
            fix=f"{facts.python_cmd} -m pip install --force-reinstall 'torch=="
            f"{facts.snapshot.target.torch.version if facts.snapshot.target.torch else ''}' "
            "(with the same --index-url you installed it from) to put the matching wheels back",
        )
    ]


@rule("forward-compat", "CUDA forward-compatibility libraries are only used on GPUs that support them")
def forward_compat(facts: Facts) -> list[Finding]:
    env = facts.snapshot.target.environment
    host = facts.snapshot.host
    loaded = [
        lib.path
        for lib in (env.libraries if env else [])
        if lib.library == "libcuda" and "compat" in lib.path
    ]
    ld = host.environment.get("LD_LIBRARY_PATH", "")
    on_path = [d for d in host.compat_libraries if d in ld.split(":")]
    if not (loaded or on_path):
        return []
    unsupported = [
        g for g in facts.healthy_gpus if g.brand.value is not None and g.brand.value not in _COMPAT_BRANDS
    ]
    if not unsupported:
        return [
            Finding(
                id="forward-compat",
                severity="info",
                subject="driver",
                summary="CUDA forward-compatibility libraries are in use (supported on these GPUs).",
                evidence=[*loaded, *on_path],
            )
        ]
    return [
        Finding(
            id="forward-compat-unsupported",
            severity="fail",
            subject="driver",
            summary="A CUDA forward-compatibility libcuda is in use, but these GPUs do not support "
            "forward compatibility: CUDA will refuse to start.",
            evidence=[f"libcuda from {p}" for p in loaded]
            + [f"on LD_LIBRARY_PATH: {p}" for p in on_path]
            + [f"{g.label}: brand {g.brand.value}" for g in unsupported],
            error_text=facts.compat.message("compat_not_supported"),
            fix="remove the compat directory from LD_LIBRARY_PATH (in NGC/CUDA images: "
            "mv /usr/local/cuda/compat /usr/local/cuda/compat.disabled && ldconfig), or upgrade the "
            "host driver so no forward compatibility is needed",
        )
    ]


@rule("extension-toolchain", "nvcc matches torch's CUDA and ninja is present (building extensions)")
def toolchain(facts: Facts) -> list[Finding]:
    env = facts.snapshot.target.environment
    torch = facts.snapshot.target.torch
    if env is None or torch is None or not torch.cuda_version:
        return []
    built = version(torch.cuda_version)
    nvcc = version(env.nvcc_version)
    out = []
    if env.nvcc is None:
        out.append(
            Finding(
                id="no-nvcc",
                severity="info",
                subject="toolchain",
                summary="No CUDA compiler (nvcc): packages that build CUDA extensions from source "
                "(flash-attn, DeepSpeed ops, custom kernels) cannot.",
                evidence=["nvcc not found in CUDA_HOME, PATH or /usr/local/cuda"],
                fix=f"install the CUDA {torch.cuda_version} toolkit and set "
                f"CUDA_HOME=/usr/local/cuda-{torch.cuda_version}",
            )
        )
    elif built is not None and nvcc is not None and (nvcc.major, nvcc.minor) != (built.major, built.minor):
        major = nvcc.major != built.major
        out.append(
            Finding(
                id="nvcc-mismatch",
                severity="fail" if major else "warn",
                subject="toolchain",
                summary=f"nvcc is CUDA {nvcc} but torch was built with CUDA {built}: extension builds "
                + (
                    "fail (torch refuses a different major version)."
                    if major
                    else "may pick up mismatched headers."
                ),
                evidence=[
                    f"nvcc: {env.nvcc} (release {env.nvcc_version})",
                    f"CUDA_HOME={env.cuda_home or '(unset)'}",
                    f"torch.version.cuda={built}",
                ],
                error_text=(
                    f"The detected CUDA version ({nvcc}) mismatches the version that was used "
                    f"to compile PyTorch ({built}). Please make sure to use the same CUDA "
                    "versions."
                )
                if major
                else None,
                fix=f"install the CUDA {built.major}.{built.minor} toolkit and point CUDA_HOME at it "
                f"(export CUDA_HOME=/usr/local/cuda-{built.major}.{built.minor})",
            )
        )
    if not env.ninja:
        out.append(
            Finding(
                id="no-ninja",
                severity="info",
                subject="toolchain",
                summary="ninja is not installed: torch.utils.cpp_extension falls back to slow serial "
                "builds, and some packages refuse to build.",
                evidence=["no ninja on PATH or in the environment"],
                fix=f"{facts.python_cmd} -m pip install ninja",
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


@rule("gpu-features", "Each GPU supports the features the installed packages need")
def features(facts: Facts) -> list[Finding]:
    env = facts.snapshot.target.environment
    packages = env.packages if env else {}
    out = []
    for gpu in facts.healthy_gpus:
        cc_text = gpu.compute_capability.value
        if not cc_text:
            continue
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
            out.append(
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
            )
        else:
            out.append(
                Finding(
                    id="gpu-features",
                    severity="info",
                    subject=gpu.label,
                    summary=f"Compute capability {cc_text}: "
                    + " · ".join(f"{name} {'yes' if cc >= need else 'no'}" for name, need in FEATURES)
                    + ".",
                    evidence=table,
                )
            )
    return out


@rule("wsl-container", "WSL 2 (not 1); containers see their GPUs")
def wsl_container(facts: Facts) -> list[Finding]:
    host = facts.snapshot.host
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


@rule("frameworks-vs-driver", "TensorFlow's and JAX's CUDA builds are supported by the driver")
def frameworks(facts: Facts) -> list[Finding]:
    target = facts.snapshot.target
    supported = version(driver_cuda(facts))
    out: list[Finding] = []
    if supported is None or not facts.snapshot.nvml.gpus:
        return out
    for name, fw in (("TensorFlow", target.tensorflow), ("JAX", target.jax)):
        if fw is None or not fw.cuda_version:
            continue
        built = version(fw.cuda_version)
        if built is None:
            continue
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
                    fix=f"upgrade the NVIDIA driver, or install a {name} built for CUDA {supported.major}",
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
