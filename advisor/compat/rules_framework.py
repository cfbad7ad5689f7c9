"""Rules about the target Python's framework: the worker ran, torch is a CUDA build, it was
compiled for these GPUs, CUDA initialises and a kernel runs."""

from __future__ import annotations

from advisor.compat.arch import coverage
from advisor.compat.common import suggestion_text, toolkit_mismatch, torch_cuda
from advisor.compat.findings import Facts, Finding, rule

_MISSING = ("ModuleNotFoundError",)


@rule("torch-probe", "The target Python answered: no crash, hang or garbage while importing torch")
def worker_status(facts: Facts) -> list[Finding]:
    t = facts.snapshot.target
    where = f"{t.executable}"
    if t.status in ("ok", "not_run"):
        return []
    if t.status == "not_found":
        return [
            Finding(
                id="python-not-found",
                severity="warn",
                subject="python",
                summary=f"The Python to check could not be run: {where}.",
                evidence=[t.detail or ""],
                fix="pass an interpreter with --python PATH",
            )
        ]
    if t.status == "timeout":
        return [
            Finding(
                id="torch-probe-hang",
                severity="fail",
                subject="torch",
                summary="Importing torch or initialising CUDA hung; a training script would hang the "
                "same way.",
                evidence=[t.detail or "", f"interpreter: {where}"],
                fix="look for a GPU stuck in a bad state (nvidia-smi; `sudo dmesg | grep -i xid`), a "
                "stale lock on a network file system, or a very slow first-time PTX JIT "
                "(CUDA_CACHE_PATH); rerun with --timeout to wait longer",
            )
        ]
    if t.status == "crashed":
        return [
            Finding(
                id="torch-probe-crashed",
                severity="fail",
                subject="torch",
                summary="The Python process crashed while importing torch or initialising CUDA.",
                evidence=[t.detail or "", f"interpreter: {where}"],
                fix=f"reproduce with: {facts.python_cmd} -X faulthandler -c "
                "'import torch; torch.zeros(1).cuda()' "
                "— a crash here usually means mismatched CUDA libraries on LD_LIBRARY_PATH or a "
                "broken driver install",
            )
        ]
    return [
        Finding(
            id="torch-probe-garbage" if t.status == "garbage" else "torch-probe-failed",
            severity="warn",
            subject="torch",
            summary="The framework probe gave no usable answer, so PyTorch could not be checked.",
            evidence=[t.detail or "", f"interpreter: {where}"],
            fix=f"run it by hand to see what is printed: {facts.python_cmd} -c "
            "'import torch; print(torch.__version__)'",
        )
    ]


@rule("torch-installed", "PyTorch imports in the target Python")
def torch_installed(facts: Facts) -> list[Finding]:
    t = facts.snapshot.target
    if t.status not in ("ok", "failed") or t.torch is not None or not t.torch_import_error:
        return []
    error = t.torch_import_error
    if error.startswith(_MISSING) and "'torch'" in error:
        return [
            Finding(
                id="torch-not-installed",
                severity="info",
                subject="torch",
                summary=f"PyTorch is not installed in {t.executable}.",
                evidence=[error],
                fix=(
                    "if your PyTorch lives in another environment, check that one: advisor check "
                    "--python /path/to/env/bin/python"
                    + (
                        f"; to install one here: {s}"
                        if (s := suggestion_text(facts)) and facts.snapshot.nvml.gpus
                        else ""
                    )
                ),
            )
        ]
    return [
        Finding(
            id="torch-import-failed",
            severity="fail",
            subject="torch",
            summary="PyTorch is installed but fails to import.",
            evidence=[f"interpreter: {t.executable}"],
            error_text=error,
            fix="a missing or mismatched CUDA library is the usual cause: check LD_LIBRARY_PATH, "
            f"then reinstall torch with its own libraries ({facts.python_cmd} -m pip install "
            "--force-reinstall torch)",
        )
    ]


@rule("cpu-only-torch", "A GPU machine has a CUDA build of PyTorch, not the CPU-only one")
def cpu_only(facts: Facts) -> list[Finding]:
    torch = facts.snapshot.target.torch
    gpus = facts.snapshot.nvml.gpus or facts.snapshot.host.pci_gpus
    if torch is None or torch.cuda_version or torch.hip_version or not gpus:
        return []
    return [
        Finding(
            id="cpu-only-torch",
            severity="fail",
            subject="torch",
            summary=f"PyTorch {torch.version} is a CPU-only build on a machine with an NVIDIA GPU: "
            "training will not use the GPU.",
            evidence=[
                f"torch.version.cuda is None ({torch.version}); NVML sees "
                f"{len(facts.snapshot.nvml.gpus)} GPU(s)"
            ],
            error_text="AssertionError: Torch not compiled with CUDA enabled",
            fix=suggestion_text(facts)
            or "install a CUDA build from https://pytorch.org/get-started/locally/",
        )
    ]


@rule("gpu-cuda-range", "Each GPU is within the range of GPUs PyTorch's CUDA version can target")
def toolkit_range(facts: Facts) -> list[Finding]:
    out = []
    for gpu in facts.healthy_gpus:
        cc = gpu.compute_capability.value
        if not cc or (mismatch := toolkit_mismatch(facts, cc)) is None:
            continue
        kind, why = mismatch
        out.append(
            Finding(
                id=f"gpu-{kind.replace('_', '-')}-for-cuda",
                severity="fail",
                subject=gpu.label,
                summary=(
                    f"This GPU is newer than PyTorch's CUDA {torch_cuda(facts)} can target."
                    if kind == "too_new"
                    else f"This GPU is older than PyTorch's CUDA {torch_cuda(facts)} still supports."
                ),
                evidence=[why],
                error_text=facts.compat.message("no_kernel_image"),
                fix=suggestion_text(facts),
            )
        )
    return out


@rule("arch-not-compiled", "PyTorch was compiled for each GPU's architecture (SASS, or PTX)")
def arch_compiled(facts: Facts) -> list[Finding]:
    torch = facts.snapshot.target.torch
    if torch is None or not torch.cuda_version or not torch.arch_list:
        return []
    archs = " ".join(torch.arch_list)
    out: list[Finding] = []
    fine = []
    for gpu in facts.healthy_gpus:
        cc = gpu.compute_capability.value
        if not cc or toolkit_mismatch(facts, cc):  # gpu-cuda-range explains it better
            continue
        how = coverage(torch.arch_list, cc)
        sm = cc.replace(".", "")
        if how == "sass":
            fine.append(f"{gpu.label}: sm_{sm} covered by [{archs}]")
        elif how == "ptx":
            out.append(
                Finding(
                    id="arch-ptx-only",
                    severity="info",
                    subject=gpu.label,
                    summary="PyTorch has no compiled kernels for this GPU and relies on JIT-compiling "
                    "PTX: the first run is slow and it fails if the driver is older than the build.",
                    evidence=[f"compute capability {cc}; torch {torch.version} arch list: {archs}"],
                    error_text=facts.compat.message("unsupported_ptx"),
                    fix=suggestion_text(facts),
                )
            )
        else:
            out.append(
                Finding(
                    id="arch-not-compiled",
                    severity="fail",
                    subject=gpu.label,
                    summary=f"PyTorch {torch.version} was not compiled for this GPU (sm_{sm}): every "
                    "CUDA kernel will fail.",
                    evidence=[
                        f"compute capability {cc}; torch arch list: {archs}",
                        "no sm_ entry of the same major and no compute_ (PTX) entry at or below it",
                    ],
                    error_text=facts.compat.message("no_kernel_image")
                    + " | "
                    + facts.compat.message("torch_incompatible_device", name=gpu.name.value or "GPU", sm=sm),
                    fix=suggestion_text(facts) or f"build PyTorch from source with TORCH_CUDA_ARCH_LIST={cc}",
                )
            )
    if fine and not out:
        out.append(
            Finding(
                id="arch-not-compiled",
                severity="ok",
                subject="torch",
                summary="PyTorch has compiled kernels for every GPU.",
                evidence=fine,
            )
        )
    return out


@rule("torch-cuda-unavailable", "torch.cuda.is_available() is True where NVML sees GPUs")
def cuda_unavailable(facts: Facts) -> list[Finding]:
    torch = facts.snapshot.target.torch
    if torch is None or not torch.cuda_version or torch.cuda_available or not facts.healthy_gpus:
        return []
    said = [w for w in (torch.init_error, *torch.warnings) if w]
    visible = facts.snapshot.host.environment.get("CUDA_VISIBLE_DEVICES", "(unset)")
    return [
        Finding(
            id="torch-cuda-unavailable",
            severity="fail",
            subject="torch",
            summary="PyTorch is a CUDA build and NVML sees GPUs, but torch.cuda.is_available() is False.",
            evidence=[
                f"torch {torch.version}, CUDA {torch.cuda_version}",
                f"CUDA_VISIBLE_DEVICES={visible}",
            ],
            error_text=said[0].splitlines()[0] if said else None,
            fix="see the driver findings above; if none, check CUDA_VISIBLE_DEVICES and that "
            "/dev/nvidia-uvm exists (sudo modprobe nvidia_uvm)",
        )
    ]


@rule("kernel-runs", "A tiny CUDA kernel runs and gives the right answer on every GPU")
def kernels(facts: Facts) -> list[Finding]:
    torch = facts.snapshot.target.torch
    if torch is None:
        return []
    out = []
    for dev in torch.devices:
        if dev.kernel_ok is False or (dev.kernel_ok is None and dev.kernel_error):
            out.append(
                Finding(
                    id="kernel-failed",
                    severity="fail",
                    subject=f"GPU {dev.index} ({dev.name})",
                    summary="A tiny CUDA kernel failed on this GPU.",
                    evidence=[f"torch {torch.version} on cuda:{dev.index} (capability {dev.capability})"],
                    error_text=dev.kernel_error,
                    fix=suggestion_text(facts)
                    if dev.kernel_error and "kernel image" in dev.kernel_error
                    else "see the other findings for this GPU; reset it (sudo nvidia-smi -r -i "
                    f"{dev.index}) if it is in a bad state",
                )
            )
    ran = [d for d in torch.devices if d.kernel_ok]
    if ran and not out:
        out.append(
            Finding(
                id="kernel-runs",
                severity="ok",
                subject="torch",
                summary=f"A CUDA kernel ran correctly on {len(ran)} GPU(s).",
                evidence=[f"cuda:{d.index} {d.name}" for d in ran],
            )
        )
    return out


@rule("torch-sees-fewer-gpus", "PyTorch sees as many GPUs as NVML")
def fewer_gpus(facts: Facts) -> list[Finding]:
    torch = facts.snapshot.target.torch
    nvml_count = len(facts.healthy_gpus)
    if torch is None or not torch.cuda_available or torch.device_count >= nvml_count:
        return []
    visible = facts.snapshot.host.environment.get("CUDA_VISIBLE_DEVICES")
    mig = [g.label for g in facts.healthy_gpus if g.mig_mode.value]
    evidence = [f"NVML: {nvml_count} GPU(s); torch: {torch.device_count}"]
    if visible is not None:
        evidence.append(f"CUDA_VISIBLE_DEVICES={visible}")
    if mig:
        evidence.append(f"MIG mode on: {', '.join(mig)}")
    return [
        Finding(
            id="torch-sees-fewer-gpus",
            severity="info" if visible is not None else "warn",
            subject="torch",
            summary=f"PyTorch sees {torch.device_count} of the {nvml_count} GPUs.",
            evidence=evidence,
            fix="unset CUDA_VISIBLE_DEVICES (or list every index) to use them all"
            if visible is not None
            else "check that each GPU initialises (see the GPU findings)",
        )
    ]
