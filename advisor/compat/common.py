"""Small derived facts several rules need (pure)."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from advisor.compat.arch import TorchSuggestion, suggest_torch
from advisor.compat.findings import Facts
from advisor.snapshot import Gpu

GIB = 1024**3


def driver_cuda(facts: Facts) -> str | None:
    """The newest CUDA the driver supports: NVML's answer, else derived from the driver version."""
    nvml = facts.snapshot.nvml
    if nvml.cuda_driver_version_text:
        return nvml.cuda_driver_version_text
    if nvml.driver_version.value:
        return facts.compat.max_cuda_for_driver(nvml.driver_version.value)
    return None


def gpu_ccs(facts: Facts) -> list[str]:
    """Compute capabilities of the GPUs present: NVML first, else what torch saw."""
    ccs = [g.compute_capability.value for g in facts.healthy_gpus if g.compute_capability.value]
    torch = facts.snapshot.target.torch
    if not ccs and torch is not None:
        ccs = [d.capability for d in torch.devices if d.capability]
    return sorted(set(ccs), key=Version)


def torch_cuda(facts: Facts) -> str | None:
    torch = facts.snapshot.target.torch
    return torch.cuda_version if torch is not None else None


def suggestion(facts: Facts) -> TorchSuggestion | None:
    torch = facts.snapshot.target.torch
    return suggest_torch(
        facts.compat,
        gpu_ccs(facts),
        driver_cuda=driver_cuda(facts),
        installed=torch.version if torch else None,
        python=facts.python_cmd,
    )


def suggestion_text(facts: Facts) -> str | None:
    s = suggestion(facts)
    if s is None:
        return None
    text = f"install PyTorch {s.torch} built for CUDA {s.cuda}: {s.command}"
    if s.needs_driver:
        text = f"upgrade the NVIDIA driver to {s.needs_driver} or newer, then {text}"
    return text


def version(text: str | None) -> Version | None:
    if not text:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def gib(n: int | float | None) -> str:
    return "?" if n is None else f"{n / GIB:.1f} GiB"


def gpu_subject(gpu: Gpu) -> str:
    return gpu.label


def toolkit_mismatch(facts: Facts, cc: str) -> tuple[str, str] | None:
    """('too_new'|'too_old', explanation) when torch's CUDA cannot target this GPU at all."""
    cuda = version(torch_cuda(facts))
    arch = facts.compat.architecture(cc)
    if cuda is None or arch is None:
        return None
    first, last = Version(arch.first_cuda), version(arch.last_cuda)
    short = Version(f"{cuda.major}.{cuda.minor}")
    if short < first:
        return "too_new", (
            f"compute capability {cc} ({arch.architecture}) needs CUDA {arch.first_cuda} or newer; "
            f"this PyTorch was built with CUDA {cuda}"
        )
    if last is not None and short > last:
        return "too_old", (
            f"CUDA {cuda} dropped compute capability {cc} ({arch.architecture}); "
            f"the last toolkit for it is CUDA {arch.last_cuda}"
        )
    return None
