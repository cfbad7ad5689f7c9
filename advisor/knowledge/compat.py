"""Compatibility knowledge (data/compat.yaml): schema, loading, and the questions rules ask of it.

Versions are compared as `packaging.version.Version`, never as strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from advisor import paths
from advisor.errors import KnowledgeError
from advisor.knowledge.yamlfile import format_validation_error, read_mapping


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _version(value: str) -> str:
    try:
        Version(value)
    except InvalidVersion:
        raise ValueError(f"not a version: {value!r}") from None
    return value


class ToolkitDriver(_Row):
    cuda: str
    linux_min_driver: str
    windows_min_driver: str | None = None
    source: str
    confirmed: bool
    evidence: str | None = None

    _check = field_validator("cuda", "linux_min_driver")(_version)


class MinorVersionFloor(_Row):
    cuda_major: int
    linux_min_driver: str
    windows_min_driver: str | None = None
    source: str
    confirmed: bool
    evidence: str | None = None


class ArchitectureSupport(_Row):
    compute_capability: str
    architecture: str
    first_cuda: str
    last_cuda: str | None = None
    sources: list[str] = Field(min_length=1)
    confirmed: bool
    notes: str | None = None
    # The driver side: the first Linux driver branch that runs this architecture, and the last one
    # (an older GPU is dropped by new branches). None: no limit known.
    first_driver_branch: int | None = None
    last_driver_branch: int | None = None
    driver_source: str | None = None
    driver_confirmed: bool = False
    driver_notes: str | None = None
    # Jetson parts: "Binary compatibility is supported only for the desktop. It is not supported for
    # Tegra" (CUDA programming guide), so only SASS of exactly this capability, or PTX, runs.
    tegra: bool = False


class DriverBranch(_Row):
    """An NVIDIA Linux driver branch (R580 ...): the newest CUDA it runs, its support lifetime."""

    branch: int
    kind: Literal["lts", "production", "new_feature"]
    max_cuda: str
    end_of_life: str | None = None  # "2028-08"; None: not announced
    source: str
    confirmed: bool
    evidence: str | None = None


@dataclass(frozen=True)
class DriverAdvice:
    branch: DriverBranch
    min_version: str | None  # the branch's first release for its newest CUDA (Table 3), if known
    limited_by: str | None  # "kepler is supported up to R470": why not a newer branch


class TorchVariant(_Row):
    cuda: str
    arch_list: list[str] | None = None
    ptx: list[str] | None = None
    source: str | None = None
    confirmed: bool
    first_patch: str | None = None  # the variant appeared with this patch release ("2.12.1")
    note: str | None = None

    @property
    def tag(self) -> str:
        return "cu" + self.cuda.replace(".", "")


class TorchRelease(_Row):
    torch: str
    variants: list[TorchVariant]
    variants_source: str | None = None
    variants_confirmed: bool
    pypi_default: str | None = None
    status: Literal["ga", "rc"] = "ga"  # rc: announced, not released; never suggested
    patch_releases: list[str] = []
    ga_date: str | None = None  # "2025-08-06"
    torchvision: str | None = None  # the matching minor, "0.23"; its patch follows torch's
    torchaudio: str | None = None  # "2.8"; None: no release for this torch
    companions: dict[str, dict[str, str]] = {}  # exceptions: torch patch -> {torchvision: "0.15.2"}
    companions_source: str | None = None

    def companion(self, name: str, torch_version: Version) -> str | None:
        """The torchvision/torchaudio version released with this torch patch version."""
        exact = self.companions.get(str(torch_version), {}).get(name)
        if exact:
            return exact
        minor = self.torchvision if name == "torchvision" else self.torchaudio
        return f"{minor}.{torch_version.micro}" if minor else None


class FrameworkBuild(_Row):
    """A TensorFlow or JAX release line: the CUDA it is built with, the oldest driver it needs."""

    name: Literal["tensorflow", "jax"]
    version: str
    cuda: str
    cudnn: str | None = None
    min_driver: str
    source: str
    confirmed: bool

    _check = field_validator("version", "cuda", "min_driver")(_version)


class Message(_Row):
    text: str
    source: str
    note: str | None = None


class CompatKnowledge(_Row):
    schema_version: int
    cuda_toolkits: list[ToolkitDriver]
    minor_version_compatibility: list[MinorVersionFloor]
    architectures: list[ArchitectureSupport]
    torch_releases: list[TorchRelease]
    messages: dict[str, Message]
    driver_branches: list[DriverBranch] = []
    frameworks: list[FrameworkBuild] = []

    def newest_framework(self, name: str, driver: str) -> FrameworkBuild | None:
        """The newest TensorFlow / JAX line this driver runs."""
        try:
            have = Version(driver)
        except InvalidVersion:
            return None
        fits = [f for f in self.frameworks if f.name == name and Version(f.min_driver) <= have]
        return max(fits, key=lambda f: Version(f.version)) if fits else None

    # -- questions ---------------------------------------------------------------------------

    def toolkit_driver(self, cuda: str) -> ToolkitDriver | None:
        """The Table 3 row for a toolkit's GA release ("12.4" -> 12.4 GA)."""
        want = _major_minor(cuda)
        rows = [r for r in self.cuda_toolkits if _major_minor(r.cuda) == want]
        return min(rows, key=lambda r: Version(r.cuda)) if rows else None

    def minor_version_floor(self, cuda_major: int) -> MinorVersionFloor | None:
        return next((r for r in self.minor_version_compatibility if r.cuda_major == cuda_major), None)

    def max_cuda_for_driver(self, driver: str) -> str | None:
        """The newest toolkit whose GA driver is at or below ``driver`` (Linux), from Table 3."""
        try:
            have = Version(driver)
        except InvalidVersion:
            return None
        fits = [r for r in self.cuda_toolkits if Version(r.linux_min_driver) <= have]
        return ".".join(_major_minor(max(fits, key=lambda r: Version(r.cuda)).cuda)) if fits else None

    def architecture(self, compute_capability: str) -> ArchitectureSupport | None:
        exact = next((a for a in self.architectures if a.compute_capability == compute_capability), None)
        if exact:
            return exact
        # An unlisted minor (8.7, Jetson Orin) takes the nearest listed one below it (8.6).
        want = Version(compute_capability)
        family = [
            a
            for a in self.architectures
            if Version(a.compute_capability).major == want.major and Version(a.compute_capability) <= want
        ]
        return max(family, key=lambda a: Version(a.compute_capability)) if family else None

    def torch_release(self, torch_version: str) -> TorchRelease | None:
        want = _major_minor(torch_version.split("+")[0])
        return next((r for r in self.torch_releases if _major_minor(r.torch) == want), None)

    def driver_for(
        self, ccs: list[str], *, today: str, cuda_major: int | None = None, at_least: int | None = None
    ) -> DriverAdvice | None:
        """The driver branch to install for GPUs of these compute capabilities.

        The oldest long-term-support branch still supported on ``today`` (YYYY-MM) that runs every
        one of these GPUs and CUDA ``cuda_major`` builds: the most widely packaged choice that is
        new enough. Failing that (an old GPU whose last branch has ended), the newest branch that
        still runs the GPUs. Never older than ``at_least`` (the branch installed now).
        """
        archs = [a for a in (self.architecture(cc) for cc in ccs) if a is not None]
        low = max((a.first_driver_branch or 0 for a in archs), default=0)
        capped = [a for a in archs if a.last_driver_branch is not None]
        high = min((a.last_driver_branch or 0 for a in capped), default=None)
        low = max(low, at_least or 0)  # never a branch older than the one installed
        fits = [b for b in self.driver_branches if b.branch >= low and (high is None or b.branch <= high)]
        if not fits:
            return None
        current = [
            b
            for b in fits
            if b.kind == "lts"
            and b.end_of_life is not None
            and b.end_of_life >= today[:7]
            and (cuda_major is None or Version(b.max_cuda).major >= cuda_major)
        ]
        pick = min(current, key=lambda b: b.branch) if current else max(fits, key=lambda b: b.branch)
        row = self.toolkit_driver(pick.max_cuda)
        same_branch = row is not None and row.linux_min_driver.split(".")[0] == str(pick.branch)
        limit = min(capped, key=lambda a: a.last_driver_branch or 0) if capped else None
        return DriverAdvice(
            branch=pick,
            min_version=row.linux_min_driver if row is not None and same_branch else None,
            limited_by=(
                f"the last branch for {limit.architecture.capitalize()} GPUs"
                if limit is not None and pick.branch == limit.last_driver_branch
                else None
            ),
        )

    def message(self, key: str, **values: object) -> str:
        return self.messages[key].text.format(**values)


def _major_minor(version: str) -> tuple[str, str]:
    v = Version(version)
    return str(v.major), str(v.minor)


def compat_path() -> Path:
    return paths.data_dir() / "compat.yaml"


@cache
def load_compat(path: Path | None = None) -> CompatKnowledge:
    source = path or compat_path()
    doc = read_mapping(source)
    try:
        return CompatKnowledge.model_validate(doc)
    except ValidationError as exc:
        raise KnowledgeError(format_validation_error(source, "compat", exc)) from None
