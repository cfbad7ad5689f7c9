"""A partial snapshot from what a pasted report showed (pure).

Everything the text did not show stays unknown: NVML readings keep their "not probed" default,
so the rules that need them say "not checked"; the facts that are plain fields in a snapshot
(torch's arch list, the toolchain, the wheels) are filled only from the text, or from
data/compat.yaml for a published wheel (and then named as inferred).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from advisor import __version__
from advisor.knowledge.cards import Card
from advisor.knowledge.compat import CompatKnowledge
from advisor.knowledge.match import match_nvml
from advisor.paste.read import Pasted, PastedGpu
from advisor.snapshot import (
    Gpu,
    Host,
    NvmlSnapshot,
    PythonEnvironment,
    Snapshot,
    TargetPython,
    TorchDevice,
    TorchInfo,
    have,
)

MIB = 1024**2
REPORT = "python"  # the reporter's interpreter, as they would type it in a fix command
UNKNOWN_VERSION = "unknown"  # torch spoke (its warning is in the text) but its version is not shown


class Inferred(BaseModel):
    fact: str
    value: str
    source: str


def _build_cuda(p: Pasted) -> str | None:
    if p.torch_cuda and p.torch_cuda != "none":
        return p.torch_cuda
    if p.torch_version and "+cu" in p.torch_version:  # "2.1.0+cu121" is a CUDA 12.1 build
        tag = p.torch_version.split("+cu", 1)[1]
        if tag.isdigit() and len(tag) >= 3:
            return f"{tag[:-1]}.{tag[-1]}"
    return None


def _cpu_only(p: Pasted) -> bool:
    said_none = p.torch_cuda == "none" or bool(p.torch_version and p.torch_version.endswith("+cpu"))
    not_compiled = any("torch not compiled with cuda enabled" in e.lower() for e in p.errors)
    return (said_none or not_compiled) and not p.torch_hip


def _arch_list(p: Pasted, compat: CompatKnowledge, cuda: str | None) -> tuple[list[str], Inferred | None]:
    if p.arch_list:
        return p.arch_list, None
    if not (p.torch_version and cuda):
        return [], None
    release = ".".join(p.torch_version.split("+")[0].split(".")[:2])
    for row in compat.torch_releases:
        if row.torch != release:
            continue
        for variant in row.variants:
            if variant.cuda == cuda:
                archs = [*(variant.arch_list or []), *(variant.ptx or [])]
                source = f"data/compat.yaml: the published torch {release} CUDA {cuda} wheel"
                return archs, Inferred(fact="torch arch list", value=" ".join(archs), source=source)
    return [], None


def report_snapshot(
    p: Pasted, compat: CompatKnowledge, cards: tuple[Card, ...] = ()
) -> tuple[Snapshot, list[Inferred]]:
    inferred: list[Inferred] = []
    named: list[PastedGpu] = []
    for g in p.gpus:  # a GPU named without its compute capability: the card database has it
        card = match_nvml(g.name, None, cards) if cards and not g.compute_capability else None
        if card is not None:
            g = g.model_copy(update={"compute_capability": card.compute_capability})
            source = f"data/cards.yaml: {card.name}"
            inferred.append(Inferred(fact=f"GPU {g.index} CC", value=card.compute_capability, source=source))
        named.append(g)
    p = p.model_copy(update={"gpus": named})
    gpus = [Gpu(index=g.index, **_gpu_readings(g)) for g in p.gpus]
    if not gpus and _implies_gpu(p):
        # a driver, or a CUDA start-up error, says there is an NVIDIA GPU the text does not name
        gpus = [Gpu(index=0)]
        inferred.append(
            Inferred(fact="GPU 0", value="unnamed", source="the driver or CUDA error in the text")
        )
    nvml = NvmlSnapshot(
        init_error=p.nvml_error,
        init_detail="from the pasted text" if p.nvml_error else None,
        driver_version=have(p.driver_version) if p.driver_version else NvmlSnapshot().driver_version,
        cuda_driver_version=have(p.cuda_driver) if p.cuda_driver else NvmlSnapshot().cuda_driver_version,
        device_count=have(len(gpus)) if gpus else NvmlSnapshot().device_count,
        gpus=[] if p.nvml_error else gpus,
    )
    cuda = None if _cpu_only(p) else _build_cuda(p)
    if (
        cuda is None
        and not _cpu_only(p)
        and any(_startup(e) or "no kernel image" in e.lower() for e in p.errors)
    ):
        cuda = UNKNOWN_VERSION  # only a CUDA build meets a CUDA start-up error; which CUDA, not shown
    if cuda is None and p.arch_list and not _cpu_only(p):
        cuda = UNKNOWN_VERSION  # torch prints its CUDA capabilities only in a CUDA build
    if cuda is None and p.arch_list and not _cpu_only(p):
        cuda, how = _cuda_from_archs(p.arch_list, compat)
        if how:
            inferred.append(how)
    torch = None
    version = p.torch_version or (UNKNOWN_VERSION if _torch_spoke(p) else None)
    if version:
        archs, how = _arch_list(p, compat, cuda)
        if how:
            inferred.append(how)
        said = [e for e in p.errors if _startup(e)]
        kernel = next((e for e in p.errors if "no kernel image" in e.lower()), None)
        available = p.cuda_available
        if available is None:
            # a start-up error means CUDA did not start; "no kernel image" and the sm_XY warning
            # come after it started (torch checks its kernels at lazy init)
            cpu_refusal = any("torch not compiled with cuda" in e.lower() for e in p.errors)
            available = not said and not cpu_refusal and cuda is not None
        torch = TorchInfo(
            version=version,
            cuda_version=cuda,
            hip_version=p.torch_hip,
            cudnn_version=p.cudnn_version,
            arch_list=archs,
            cuda_available=bool(available),
            device_count=len(gpus) if available else 0,
            devices=[
                TorchDevice(index=g.index, name=g.name, kernel_ok=False, kernel_error=kernel)
                for g in p.gpus
                if kernel
            ],
            init_error=said[0] if said else None,
        )
    import_error = next((e for e in p.errors if import_error_line(e)), None)
    target = TargetPython(
        executable=REPORT,
        status="ok" if torch or import_error else "not_run",
        detail="the report shows no PyTorch" if torch is None and not import_error else None,
        python_version=p.python_version,
        torch=torch if not import_error else None,
        torch_import_error=import_error,
        environment=PythonEnvironment(
            nvcc_version=p.nvcc_version,
            nvcc="nvcc" if p.nvcc_version else None,
            packages={k: v for k, v in p.packages.items() if not k.startswith("nvidia-")},
            wheels_installed={k: v for k, v in p.packages.items() if k.startswith("nvidia-")},
        )
        if p.nvcc_version or p.packages
        else None,
    )
    host = Host(os=p.os, machine=p.machine)
    snap = Snapshot(advisor_version=__version__, taken_at="", host=host, nvml=nvml, target=target)
    return snap, inferred


def _gpu_readings(g: PastedGpu) -> dict[str, Any]:
    """Only what the text showed: the rest keeps the snapshot's "not probed" default."""
    out: dict[str, Any] = {"name": have(g.name)}
    if g.memory_total_mib:
        out["memory_total_bytes"] = have(g.memory_total_mib * MIB)
    if g.memory_used_mib is not None:
        out["memory_used_bytes"] = have(g.memory_used_mib * MIB)
    if g.compute_capability:
        out["compute_capability"] = have(g.compute_capability)
    for field in ("pcie_gen_current", "pcie_gen_max", "pcie_width_current", "pcie_width_max"):
        value = getattr(g, field)
        if value is not None:
            out[field] = have(value)
    return out


def _cuda_from_archs(archs: list[str], compat: CompatKnowledge) -> tuple[str | None, Inferred | None]:
    """The CUDA of the published wheels whose arch list is exactly the one torch's warning printed,
    when they all agree (sm_37 sm_50 sm_60 sm_70 is only ever a CUDA 10.2 wheel)."""
    wanted = sorted(a for a in archs if a.startswith("sm_"))
    found = {
        (row.torch, v.cuda)
        for row in compat.torch_releases
        for v in row.variants
        if sorted(a for a in v.arch_list or [] if a.startswith("sm_")) == wanted
    }
    cudas = {c for _, c in found}
    if len(cudas) != 1:
        return None, None
    cuda = cudas.pop()
    releases = ", ".join(sorted({t for t, _ in found}))
    return cuda, Inferred(
        fact="torch CUDA build",
        value=cuda,
        source=f"data/compat.yaml: only torch {releases} cu wheels list {' '.join(wanted)}",
    )


def _implies_gpu(p: Pasted) -> bool:
    """A driver, a CUDA start-up error, or torch refusing a CUDA call the reporter made."""
    asked = any("torch not compiled with cuda enabled" in e.lower() for e in p.errors)
    return bool(
        p.driver_version or p.cuda_driver or p.nvml_error or asked or any(_startup(e) for e in p.errors)
    )


def _torch_spoke(p: Pasted) -> bool:
    """A text only torch prints: its CUDA warnings and asserts."""
    said = " ".join(p.errors).lower()
    return any(
        k in said
        for k in (
            "torch not compiled with cuda",
            "the nvidia driver on your system is too old",
            "is not compatible with the current pytorch installation",
            "cuda initialization",
            "mismatches the version that was used to compile",  # torch.utils.cpp_extension
            "version that pytorch was compiled with",
        )
    ) or bool(p.arch_list)


def _startup(line: str) -> bool:
    lower = line.lower()
    return any(
        k in lower
        for k in (
            "too old (found version",
            "forward compatibility was attempted",
            "system not yet initialized",
            "cuda unknown error",
            "error 999",
            "unsupported display driver",
            "found no nvidia driver",
            "cuda driver version is insufficient",
            "no cuda gpus are available",
        )
    )


def import_error_line(line: str) -> bool:
    lower = line.lower()
    return (
        "undefined symbol" in lower
        or "cannot open shared object file" in lower
        or "not found in the system path" in lower  # torch's preload of a missing nvidia-* wheel
    )
