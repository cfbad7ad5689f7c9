"""Which compiled GPU code can run on which GPU (pure).

NVIDIA's rule: a cubin built for sm_XY runs on compute capability X.Z with Z >= Y (same major
only); arch-specific targets (sm_90a) run only on exactly X.Y; PTX compute_XY is JIT-compiled by the
driver for any X.Y or newer. Source: https://docs.nvidia.com/cuda/blackwell-compatibility-guide
On Tegra (Jetson) "Binary compatibility is supported only for the desktop": exactly X.Y there.
https://docs.nvidia.com/cuda/cuda-c-programming-guide/#binary-compatibility
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from packaging.version import Version

from advisor.knowledge.compat import CompatKnowledge

_ENTRY = re.compile(r"^(sm|compute)_(\d+)([af]?)$")


@dataclass(frozen=True)
class ArchEntry:
    kind: Literal["sm", "compute"]
    major: int
    minor: int
    suffix: str

    def runs_on(self, cc: tuple[int, int], *, tegra: bool = False) -> bool:
        if self.kind == "compute":
            return (self.major, self.minor) <= cc
        if self.suffix == "a" or tegra:  # arch-specific code, or a Jetson: exactly this capability
            return (self.major, self.minor) == cc
        return self.major == cc[0] and self.minor <= cc[1]


def parse_entry(entry: str) -> ArchEntry | None:
    """'sm_86' -> sm 8.6; 'sm_120' -> sm 12.0; 'compute_90' -> PTX 9.0; 'sm_90a' -> exact 9.0."""
    m = _ENTRY.match(entry.strip().lower())
    if not m or len(m.group(2)) < 2:  # "sm_7": a cut line, not an architecture
        return None
    digits = m.group(2)
    kind: Literal["sm", "compute"] = "sm" if m.group(1) == "sm" else "compute"
    return ArchEntry(kind, int(digits[:-1]), int(digits[-1]), m.group(3))


def parse_cc(cc: str) -> tuple[int, int]:
    major, _, minor = cc.partition(".")
    return int(major), int(minor or 0)


Coverage = Literal["sass", "ptx", "none"]


def coverage(arch_list: list[str], cc: str, *, tegra: bool = False) -> Coverage:
    """How code in ``arch_list`` reaches a GPU of compute capability ``cc`` (``tegra``: a Jetson,
    where SASS of a lower minor does not carry over)."""
    target = parse_cc(cc)
    entries = [e for e in (parse_entry(a) for a in arch_list) if e is not None]
    if any(e.kind == "sm" and e.runs_on(target, tegra=tegra) for e in entries):
        return "sass"
    if any(e.kind == "compute" and e.runs_on(target) for e in entries):
        return "ptx"
    return "none"


def gpu_coverage(compat: CompatKnowledge, arch_list: list[str], cc: str) -> Coverage:
    """coverage() for a GPU as the knowledge knows it (a Jetson's capability is exact)."""
    arch = compat.architecture(cc)
    return coverage(arch_list, cc, tegra=arch is not None and arch.tegra)


def driver_floor(compat: CompatKnowledge, cuda: str) -> str | None:
    """The oldest Linux driver that runs a CUDA ``cuda`` build (minor-version floor when 11+)."""
    floor = compat.minor_version_floor(Version(cuda).major)
    if floor is not None:
        return floor.linux_min_driver
    row = compat.toolkit_driver(cuda)
    return row.linux_min_driver if row else None
