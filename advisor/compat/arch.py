"""Which compiled GPU code can run on which GPU (pure).

NVIDIA's rule: a cubin built for sm_XY runs on compute capability X.Z with Z >= Y (same major
only); arch-specific targets (sm_90a) run only on exactly X.Y; PTX compute_XY is JIT-compiled by the
driver for any X.Y or newer. Source: https://docs.nvidia.com/cuda/blackwell-compatibility-guide
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from packaging.version import Version

from advisor.knowledge.compat import CompatKnowledge, TorchVariant

_ENTRY = re.compile(r"^(sm|compute)_(\d+)([af]?)$")


@dataclass(frozen=True)
class ArchEntry:
    kind: Literal["sm", "compute"]
    major: int
    minor: int
    suffix: str

    def runs_on(self, cc: tuple[int, int]) -> bool:
        if self.kind == "compute":
            return (self.major, self.minor) <= cc
        if self.suffix == "a":
            return (self.major, self.minor) == cc
        return self.major == cc[0] and self.minor <= cc[1]


def parse_entry(entry: str) -> ArchEntry | None:
    """'sm_86' -> sm 8.6; 'sm_120' -> sm 12.0; 'compute_90' -> PTX 9.0; 'sm_90a' -> exact 9.0."""
    m = _ENTRY.match(entry.strip().lower())
    if not m:
        return None
    digits = m.group(2)
    kind: Literal["sm", "compute"] = "sm" if m.group(1) == "sm" else "compute"
    return ArchEntry(kind, int(digits[:-1]), int(digits[-1]), m.group(3))


def parse_cc(cc: str) -> tuple[int, int]:
    major, _, minor = cc.partition(".")
    return int(major), int(minor or 0)


Coverage = Literal["sass", "ptx", "none"]


def coverage(arch_list: list[str], cc: str) -> Coverage:
    """How code in ``arch_list`` reaches a GPU of compute capability ``cc``."""
    target = parse_cc(cc)
    entries = [e for e in (parse_entry(a) for a in arch_list) if e is not None]
    if any(e.kind == "sm" and e.runs_on(target) for e in entries):
        return "sass"
    if any(e.kind == "compute" and e.runs_on(target) for e in entries):
        return "ptx"
    return "none"


@dataclass(frozen=True)
class TorchSuggestion:
    torch: str  # the release, e.g. "2.8"
    cuda: str  # the variant's CUDA, e.g. "12.6"
    command: str
    needs_driver: str | None  # a Linux driver at least this new, if the current one is too old


def suggest_torch(
    compat: CompatKnowledge,
    ccs: list[str],
    *,
    driver_cuda: str | None,
    installed: str | None,
    python: str,
    cuda_major: int | None = None,
) -> TorchSuggestion | None:
    """The official wheel that runs on every GPU in ``ccs`` under this driver.

    Prefers the installed release (same version, other CUDA variant), then the newest release
    that works. Only SASS counts: release wheels rarely ship PTX. ``cuda_major`` keeps to builds
    of that CUDA major (to match a local toolkit).
    """
    if not ccs:
        return None
    installed_release = compat.torch_release(installed) if installed else None
    releases = sorted(compat.torch_releases, key=lambda r: Version(r.torch), reverse=True)
    if installed_release is not None:
        releases.remove(installed_release)
        releases.insert(0, installed_release)

    def usable(v: TorchVariant) -> bool:
        if cuda_major is not None and Version(v.cuda).major != cuda_major:
            return False
        return v.arch_list is not None and all(coverage(v.arch_list, cc) == "sass" for cc in ccs)

    def fits(v: TorchVariant, tier: int) -> bool:
        if driver_cuda is None or tier == 2:
            return True
        have, need = Version(driver_cuda), Version(v.cuda)
        # tier 0: the driver supports this CUDA outright; tier 1: through minor-version
        # compatibility (same major, CUDA 11+), which PyTorch wheels run under.
        return need <= have if tier == 0 else (need.major == have.major and need.major >= 11)

    # Stay on the installed release when any variant of it works, even through minor-version
    # compatibility, before moving the user to another release.
    head, rest = releases[:1], releases[1:]
    plan = [(head, 0), (head, 1), (rest, 0), (rest, 1), (releases, 2)]
    if installed_release is None:
        plan = [(releases, 0), (releases, 1), (releases, 2)]
    for group, tier in plan:
        for release in group:
            # Tier 0 with a known driver: the newest CUDA it supports. Otherwise the oldest CUDA:
            # the smallest driver upgrade, or the widest reach when the driver is unknown.
            newest_first = tier == 0 and driver_cuda is not None
            variants = sorted(release.variants, key=lambda v: Version(v.cuda), reverse=newest_first)
            for variant in variants:
                if not usable(variant) or not fits(variant, tier):
                    continue
                return TorchSuggestion(
                    torch=release.torch,
                    cuda=variant.cuda,
                    command=_pip_command(python, release.torch, installed, variant.tag),
                    needs_driver=None if tier < 2 else driver_floor(compat, variant.cuda),
                )
    return None


def driver_floor(compat: CompatKnowledge, cuda: str) -> str | None:
    """The oldest Linux driver that runs a CUDA ``cuda`` build (minor-version floor when 11+)."""
    floor = compat.minor_version_floor(Version(cuda).major)
    if floor is not None:
        return floor.linux_min_driver
    row = compat.toolkit_driver(cuda)
    return row.linux_min_driver if row else None


def _pip_command(python: str, release: str, installed: str | None, tag: str) -> str:
    index = f"https://download.pytorch.org/whl/{tag}"
    base = installed.split("+")[0] if installed else None
    if base and Version(base).release[:2] == Version(release).release[:2]:
        spec = f"torch=={base}+{tag}"
        return f"{python} -m pip install '{spec}' --index-url {index}"
    return f"{python} -m pip install --force-reinstall 'torch=={release}.*' --index-url {index}"
