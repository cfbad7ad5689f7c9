"""Small derived facts several rules need (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

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
    """Compute capabilities of the GPUs present: NVML first, else what torch saw, else the cards
    the PCI device ids name (a GPU without a driver)."""
    ccs = [g.compute_capability.value for g in facts.healthy_gpus if g.compute_capability.value]
    torch = facts.snapshot.target.torch
    if not ccs and torch is not None:
        ccs = [d.capability for d in torch.devices if d.capability]
    if not ccs:
        ccs = [c.compute_capability for c in facts.bus_cards.values() if c is not None]
    return sorted(set(ccs), key=Version)


def torch_cuda(facts: Facts) -> str | None:
    torch = facts.snapshot.target.torch
    return torch.cuda_version if torch is not None else None


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


def gpu_present(facts: Facts) -> bool:
    """An NVIDIA GPU is in this machine by any account: NVML, the PCI bus, a Jetson board, torch."""
    snap = facts.snapshot
    torch = snap.target.torch
    return bool(
        snap.nvml.gpus
        or snap.host.pci_nvidia
        or snap.host.tegra_release
        or (torch is not None and torch.devices)
    )


@dataclass(frozen=True)
class StartupError:
    """Why CUDA would not start in the target, read from torch's own message."""

    code: int | None  # the CUDA error number (999, 804 ...) where the text gives or implies one
    text: str  # torch's message, first line, without the "(Triggered internally at ...)" tail
    found_version: int | None = None  # "too old (found version 11040)": cudaDriverGetVersion


# torch's texts (c10/cuda/CUDAFunctions.cpp) and cudaGetErrorString's, with the code they mean.
_STARTUP_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = (
    (
        re.compile(r"\bError (\d{1,4}): "),
        -1,
    ),  # "Unexpected error from cudaGetDeviceCount() ... Error 804: ..."
    (re.compile(r"driver on your system is too old"), 35),
    (re.compile(r"Found no NVIDIA driver on your system"), 35),
    (re.compile(r"CUDA unknown error"), 999),
    (re.compile(r"forward compatibility was attempted on non supported HW"), 804),
    (re.compile(r"unsupported display driver / cuda driver combination"), 803),
    (re.compile(r"system not yet initialized"), 802),
    (re.compile(r"no CUDA-capable device is detected"), 100),
    (re.compile(r"CUDA driver initialization failed"), 3),
    (re.compile(r"CUDA driver is a stub library"), 34),
)
_FOUND_VERSION = re.compile(r"found version (\d+)")
_TRIGGERED = re.compile(r"\s*\(Triggered internally at [^)]*\)\.?\s*$")


def startup_error(facts: Facts) -> StartupError | None:
    """The error CUDA start-up gave in the target (torch's exception or its one-time warning)."""
    torch = facts.snapshot.target.torch
    if torch is None:
        return None
    said = [w for w in (torch.init_error, *torch.warnings) if w]
    for message in said:
        text = _TRIGGERED.sub("", message.strip().splitlines()[0] if message.strip() else "")
        # As torch words it in its warning: no "CUDA initialization:" prefix, no exception type.
        text = text.removeprefix("CUDA initialization: ").removeprefix("RuntimeError: ")
        for pattern, code in _STARTUP_PATTERNS:
            m = pattern.search(text)
            if m is None:
                continue
            found = _FOUND_VERSION.search(text)
            return StartupError(
                code=int(m.group(1)) if code == -1 else code,
                text=text,
                found_version=int(found.group(1)) if found else None,
            )
    if not torch.cuda_available and torch.cuda_version and said:
        first = said[0].strip().splitlines()[0] if said[0].strip() else said[0]
        return StartupError(code=None, text=_TRIGGERED.sub("", first).removeprefix("CUDA initialization: "))
    return None


def no_driver_text(error: StartupError | None) -> bool:
    return error is not None and "Found no NVIDIA driver" in error.text


@dataclass(frozen=True)
class ImportCause:
    """Why `import torch` failed, read from the error and the environment the worker reported."""

    kind: Literal["not_installed", "missing_wheel", "split_site", "shadowed", "other"]
    library: str | None = None  # the shared library the error names
    missing: tuple[str, ...] = ()  # torch's Requires-Dist lines whose wheel is not installed
    misplaced: tuple[str, ...] = ()  # requirement lines of wheels outside torch's site-packages
    torch_site: str | None = None
    wheel_site: str | None = None  # where the misplaced wheels are
    evidence: tuple[str, ...] = ()


def _requirement_name(line: str) -> NormalizedName | None:
    from packaging.requirements import InvalidRequirement, Requirement  # 8 ms: only with wheels

    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    if req.marker is not None and not req.marker.evaluate():
        return None  # e.g. platform_machine == "aarch64" on an x86_64 box
    return canonicalize_name(req.name)


def torch_not_installed(error: str | None) -> bool:
    """The import error says torch is simply absent, not broken."""
    return error is not None and error.startswith("ModuleNotFoundError") and "'torch'" in error


def import_cause(facts: Facts) -> ImportCause:
    target = facts.snapshot.target
    if torch_not_installed(target.torch_import_error):
        return ImportCause("not_installed")
    env = target.environment
    named = env.import_library if env else None
    library = named.library if named else None
    evidence: list[str] = []
    if named:
        evidence += [f"{library} on LD_LIBRARY_PATH: {p}" for p in named.on_ld_library_path]
        evidence += [f"{library} in a wheel: {p}" for p in named.in_wheels]
        if not named.on_ld_library_path and not named.in_wheels:
            evidence.append(f"no copy of {library} on LD_LIBRARY_PATH or in site-packages")
    if env is None:
        return ImportCause("other", library=library, evidence=tuple(evidence))
    installed: dict[NormalizedName, str | None] = {
        canonicalize_name(k): v for k, v in env.wheels_installed.items()
    }
    required = [(line, name) for line in env.wheels_required if (name := _requirement_name(line))]
    missing = tuple(line for line, name in required if installed.get(name) is None)
    if missing:
        return ImportCause("missing_wheel", library=library, missing=missing, evidence=tuple(evidence))
    if named and named.on_ld_library_path:
        return ImportCause("shadowed", library=library, evidence=tuple(evidence))
    sites = {canonicalize_name(k): v for k, v in env.wheel_sites.items()}
    torch_site = sites.get(canonicalize_name("torch"))
    misplaced = tuple(
        line for line, name in required if torch_site and sites.get(name) and sites[name] != torch_site
    )
    if misplaced:
        where = [f"torch is in {torch_site}"] + [
            f"{name} is in {sites[name]}" for line, name in required if line in misplaced
        ]
        return ImportCause(
            "split_site",
            library=library,
            misplaced=misplaced,
            torch_site=torch_site,
            wheel_site=next(sites[n] for line, n in required if line in misplaced),
            evidence=tuple(where + evidence),
        )
    return ImportCause("other", library=library, evidence=tuple(evidence))
