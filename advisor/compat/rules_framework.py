"""Rules about the target Python's PyTorch build: a CUDA build, compiled for these GPUs, a kernel
runs, every GPU seen."""

from __future__ import annotations

from advisor.compat.arch import gpu_coverage
from advisor.compat.common import driver_cuda, gpu_present, toolkit_mismatch, torch_cuda, version
from advisor.compat.findings import Emit, Facts, Finding, Skip, gpu_rule, rule
from advisor.compat.fixes import fix_of, suggestion
from advisor.compat.needs import GPUS, TORCH, TORCH_CUDA, gpu_reading
from advisor.snapshot import Gpu

_ARCH_CAUSES = ("arch-not-compiled", "gpu-too-new-for-cuda", "gpu-too-old-for-cuda", "arch-ptx-jit")


@rule(
    "torch-cuda-build",
    "A GPU machine has a CUDA build of PyTorch, not the CPU-only one",
    needs=(TORCH,),
    emits={"torch-cuda-build": "ok", "cpu-only-torch": "fail"},
)
def cpu_only(facts: Facts) -> list[Finding] | Skip:
    torch = facts.snapshot.target.torch
    assert torch is not None
    if not gpu_present(facts):
        return Skip("not_applicable", "no NVIDIA GPU on this machine")
    if torch.hip_version:
        return Skip("not_applicable", f"torch {torch.version} is a ROCm build")
    if torch.cuda_version:
        return [
            Finding(
                id="torch-cuda-build",
                severity="ok",
                subject="torch",
                summary=f"torch {torch.version} is a CUDA {torch.cuda_version} build.",
            )
        ]
    snap = facts.snapshot
    seen = f"NVML sees {len(snap.nvml.gpus)} GPU(s)" if snap.nvml.gpus else "an NVIDIA GPU is on this machine"
    found = suggestion(facts)
    fix = found.text if found else "install a CUDA build from https://pytorch.org/get-started/locally/"
    command = found.command if found else None
    conda = snap.target.conda_env or torch.installer == "conda"
    if conda:
        fix = (
            f"this is a conda environment with a CPU-only torch (installer: {torch.installer or '?'}): "
            "remove it (conda remove pytorch), then " + fix
        )
    if snap.host.tegra_release:
        fix = (
            "PyPI's aarch64 wheels are not built for Jetson: install the PyTorch wheel NVIDIA builds "
            "for your JetPack (the jetson-ai-lab.dev index, or NVIDIA's L4T containers)"
        )
        command = None
    return [
        Finding(
            id="cpu-only-torch",
            severity="fail",
            subject="torch",
            summary=f"PyTorch {torch.version} is a CPU-only build on a machine with an NVIDIA GPU: "
            "training will not use the GPU.",
            evidence=[f"torch.version.cuda is None ({torch.version}); {seen}"],
            error_text="AssertionError: Torch not compiled with CUDA enabled",
            fix=fix,
            fix_command=command,
        )
    ]


@gpu_rule(
    "torch-archs",
    "PyTorch has code each GPU can run: compiled kernels (SASS) of its major, or PTX to JIT",
    needs=(TORCH_CUDA, gpu_reading("compute_capability")),
    emits={
        "torch-archs": "ok",
        "arch-not-compiled": "fail",
        "arch-ptx-jit": ("info", "fail"),
        "gpu-too-new-for-cuda": "fail",
        "gpu-too-old-for-cuda": "fail",
    },
)
def arch_compiled(facts: Facts, gpu: Gpu) -> list[Finding] | Skip:
    torch = facts.snapshot.target.torch
    assert torch is not None
    cc = gpu.compute_capability.value or ""
    sm = cc.replace(".", "")
    if not torch.arch_list:
        # No arch list (an old snapshot, a custom build): judge by what the toolkit can target.
        if toolkit_mismatch(facts, cc) is None:
            return Skip("not_checked", "torch reported no compiled architectures")
        return [_no_code(facts, gpu, ["torch reported no compiled architectures"])]
    archs = " ".join(torch.arch_list)
    how = gpu_coverage(facts.compat, torch.arch_list, cc)
    if how == "sass":
        return [
            Finding(
                id="torch-archs",
                severity="ok",
                subject=gpu.label,
                summary=f"PyTorch has compiled kernels for this GPU (sm_{sm}).",
                evidence=[f"compute capability {cc}; torch arch list: {archs}"],
            )
        ]
    ran = _kernel_ran(facts, gpu.index)
    if how == "ptx":
        driver = version(driver_cuda(facts))
        built = version(torch_cuda(facts))
        jit_ok = driver is None or built is None or (driver.major, driver.minor) >= (built.major, built.minor)
        return [
            Finding(
                id="arch-ptx-jit",
                severity="info" if jit_ok else "fail",
                subject=gpu.label,
                summary=(
                    "PyTorch has no compiled kernels for this GPU; it runs by JIT-compiling PTX: it works, "
                    "but the first start is slow (minutes, then cached in ~/.nv/ComputeCache)."
                    if jit_ok
                    else "PyTorch reaches this GPU only through PTX JIT, and this driver is older than "
                    "the PTX: kernels will not load."
                ),
                evidence=[
                    f"compute capability {cc} (sm_{sm}); torch arch list: {archs}: PTX only",
                    f"driver supports CUDA up to {driver_cuda(facts) or '?'}; the PTX is from CUDA "
                    f"{torch_cuda(facts)}",
                    *(["a test kernel ran correctly (through the JIT)"] if ran else []),
                ],
                error_text=None if jit_ok else facts.compat.message("unsupported_ptx"),
                **(
                    fix_of(
                        suggestion(facts),
                        f"upgrade the NVIDIA driver to one that supports CUDA {torch_cuda(facts)} "
                        f"(the PTX's), or install a PyTorch build with sm_{sm} kernels",
                    )
                    if not jit_ok
                    else {
                        "fix": (
                            f"to skip the JIT, install a build with sm_{sm} kernels: {found.text}"
                            if (found := suggestion(facts))
                            else "nothing is needed: the JIT runs once and is cached; a PyTorch "
                            f"build with sm_{sm} kernels would skip it"
                        ),
                        "fix_command": found.command if found else None,
                    }
                ),
            )
        ]
    return [
        _no_code(
            facts,
            gpu,
            [
                f"compute capability {cc} (sm_{sm}); torch arch list: {archs}",
                "no sm_ entry of the same major and no compute_ (PTX) entry at or below it",
            ],
        )
    ]


def _no_code(facts: Facts, gpu: Gpu, evidence: list[str]) -> Finding:
    """No code in the build runs on this GPU. Named for why: the build's CUDA is too old to target
    the GPU, too new to target it, or could target it and the wheel left it out."""
    torch = facts.snapshot.target.torch
    assert torch is not None
    cc = gpu.compute_capability.value or ""
    sm = cc.replace(".", "")
    mismatch = toolkit_mismatch(facts, cc)
    kind = mismatch[0] if mismatch else None
    summary = {
        "too_new": f"This GPU (sm_{sm}) is newer than PyTorch's CUDA {torch.cuda_version} can target: "
        "every CUDA kernel fails with 'no kernel image'.",
        "too_old": f"This GPU (sm_{sm}) is older than PyTorch's CUDA {torch.cuda_version} still "
        "supports: every CUDA kernel fails with 'no kernel image'.",
        None: f"PyTorch {torch.version} was built without code for this GPU (sm_{sm}): every CUDA "
        "kernel fails with 'no kernel image'.",
    }[kind]
    name = gpu.name.value or "GPU"
    return Finding(
        id=f"gpu-{kind.replace('_', '-')}-for-cuda" if kind else "arch-not-compiled",
        severity="fail",
        subject=gpu.label,
        summary=summary,
        evidence=[*evidence, *([mismatch[1]] if mismatch else []), *_device_said(facts, gpu.index)],
        error_text=facts.compat.message("torch_incompatible_device", name=name, sm=sm)
        + " | "
        + facts.compat.message("no_kernel_image"),
        **fix_of(suggestion(facts), f"build PyTorch from source with TORCH_CUDA_ARCH_LIST={cc}"),
    )


def _kernel_ran(facts: Facts, index: int) -> bool:
    torch = facts.snapshot.target.torch
    return torch is not None and any(d.index == index and d.kernel_ok for d in torch.devices)


def _device_said(facts: Facts, index: int) -> list[str]:
    """What torch itself said on that device: its warning's first line and the kernel's error."""
    torch = facts.snapshot.target.torch
    out = []
    for d in torch.devices if torch else []:
        if d.index != index:
            continue
        if d.kernel_error:
            out.append(f"a test kernel on cuda:{d.index} failed: {d.kernel_error}")
    for w in torch.warnings if torch else []:
        # _check_cubins' "... is not compatible ..." is quoted as the error text already;
        # _check_capability's "Found GPU0 ... which is of cuda capability" adds the supported range.
        first = next((line for line in w.splitlines() if line.strip()), "")
        if "which is of c" in first:
            out.append(f"torch warned: {' '.join(w.split())}")
    return out


@rule(
    "kernel-runs",
    "A tiny CUDA kernel runs and gives the right answer on every GPU",
    needs=(TORCH_CUDA,),
    emits={
        "kernel-runs": "ok",
        "kernel-failed": Emit(("fail",), explained_by=_ARCH_CAUSES),
    },
)
def kernels(facts: Facts) -> list[Finding] | Skip:
    torch = facts.snapshot.target.torch
    assert torch is not None
    if not torch.devices:
        if not gpu_present(facts):
            return Skip("not_applicable", "no NVIDIA GPU on this machine")
        return Skip("not_checked", "CUDA did not start, so no kernel could run (see cuda-init)")
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
                    fix="see the other findings for this GPU; reset it (sudo nvidia-smi -r -i "
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


@rule(
    "torch-sees-fewer-gpus",
    "PyTorch sees as many GPUs as NVML",
    needs=(TORCH_CUDA, GPUS),
    emits={"torch-sees-fewer-gpus": ("info", "warn")},
)
def fewer_gpus(facts: Facts) -> list[Finding] | Skip:
    torch = facts.snapshot.target.torch
    assert torch is not None
    if not torch.cuda_available:
        return Skip("not_checked", "CUDA did not start (see cuda-init)")
    nvml_count = len(facts.healthy_gpus)
    if torch.device_count >= nvml_count:
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
