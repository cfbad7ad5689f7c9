"""Which PyTorch build to install, and which driver first, as an experienced engineer chooses (pure).

The rules, in order:
1. Keep a working install: a stable CUDA build with compiled kernels (SASS) for every GPU here that
   this driver runs, natively or through minor-version compatibility, is kept.
2. A change changes as little as it can: a CPU-only or wrong-arch build of a release that has a
   variant that works here switches variant within that release (after a driver upgrade too).
3. Otherwise the newest stable release with a variant that has SASS for every GPU and runs on this
   driver. Minor-version compatibility counts: a cu126 wheel runs on any R525+ driver (CUDA 12.x
   family floor); PyTorch wheels carry SASS, so no PTX JIT is needed. Within a release, a CUDA
   the driver supports outright is preferred to one it runs through compatibility.
4. When this driver cannot run the newest release and its branch is past end of life (or no build
   at all runs on it), the driver comes first: the branch these GPUs need (Blackwell R570+, Kepler
   up to R470, Maxwell to Volta up to R580), then the torch for it (none, when the installed build
   then runs as it is); the build that runs on the current driver, if any, is the alternative.
5. The driver floor of a build is the larger of its CUDA family's floor and what the GPUs need.
6. A nightly is never pinned on a stable index: a nightly that works is kept; otherwise the newest
   stable build, or the nightly index with a date-free spec when the nightly is newer than any
   stable release.
7. The command is argv and keeps the stack consistent: torchvision and torchaudio, when installed,
   move with torch in the same command; no --force-reinstall (an exact pin of the other variant,
   or a release wildcard the installed version does not satisfy, is enough for pip).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from packaging.version import InvalidVersion, Version

from advisor.compat.arch import driver_floor, gpu_coverage
from advisor.knowledge.compat import CompatKnowledge, DriverAdvice, TorchRelease, TorchVariant

INDEX = "https://download.pytorch.org/whl/"


@dataclass(frozen=True)
class Installed:
    """The torch stack in the target Python, as the worker read it."""

    version: str  # torch.__version__: "2.5.1+cu124", "2.8.0.dev20250501+cu128", "2.4.1+cpu"
    cuda: str | None = None  # torch.version.cuda
    arch_list: tuple[str, ...] = ()
    torchvision: str | None = None
    torchaudio: str | None = None

    @property
    def base(self) -> Version | None:
        try:
            return Version(self.version.split("+")[0])
        except InvalidVersion:
            return None

    @property
    def nightly(self) -> bool:
        base = self.base
        return base is not None and base.is_devrelease


@dataclass(frozen=True)
class Machine:
    ccs: tuple[str, ...]  # compute capabilities of the GPUs
    driver: str | None  # "550.54.14"; None: not known
    driver_cuda: str | None  # the newest CUDA the driver supports outright, "12.4"
    today: str  # "2026-12": against end-of-life dates
    python: str  # the interpreter the command runs


@dataclass(frozen=True)
class Build:
    torch: str  # the release, "2.14"
    cuda: str  # the variant's CUDA, "13.0"
    through_compat: bool  # runs on the driver only through minor-version compatibility
    argv: tuple[str, ...]
    nightly: bool = False


@dataclass(frozen=True)
class TorchPlan:
    verdict: Literal["keep", "install", "driver_first"]
    build: Build | None = None  # what to install (after the driver; None: the installed one then runs)
    driver: DriverAdvice | None = None  # the branch to install first
    alternative: Build | None = None  # with driver_first: what runs on the current driver


def _short(v: str) -> tuple[int, int]:
    parsed = Version(v)
    return parsed.major, parsed.minor


def _branch(driver: str | None) -> int | None:
    head = (driver or "").split(".")[0]
    return int(head) if head.isdigit() else None


class _Judge:
    """What runs here, for one machine, under its driver or a hypothetical one."""

    def __init__(self, compat: CompatKnowledge, m: Machine, driver: str | None, driver_cuda: str | None):
        self.compat, self.m, self.driver, self.driver_cuda = compat, m, driver, driver_cuda
        archs = [a for a in (compat.architecture(cc) for cc in m.ccs) if a is not None]
        self.gpu_branch = max((a.first_driver_branch or 0 for a in archs), default=0)

    def covers(self, arch_list: list[str] | tuple[str, ...] | None) -> bool:
        archs = list(arch_list or [])
        return bool(archs) and all(gpu_coverage(self.compat, archs, cc) == "sass" for cc in self.m.ccs)

    def runs(self, cuda: str) -> bool:
        """This driver runs a build of CUDA ``cuda``: outright, or through the family floor."""
        if self.driver is None:
            return True  # not known: judge by the GPUs alone
        branch = _branch(self.driver)
        if branch is not None and branch < self.gpu_branch:
            return False
        floor = driver_floor(self.compat, cuda)
        try:
            return floor is not None and Version(self.driver) >= Version(floor)
        except InvalidVersion:
            return False

    def outright(self, cuda: str) -> bool:
        return self.driver_cuda is not None and _short(cuda) <= _short(self.driver_cuda)

    def variant(self, release: TorchRelease, cuda_major: int | None) -> TorchVariant | None:
        """The best variant of a release here: one the driver supports outright (newest CUDA),
        else one it runs through minor-version compatibility (newest CUDA)."""
        ok = [
            v
            for v in release.variants
            if self.covers(v.arch_list)
            and self.runs(v.cuda)
            and (cuda_major is None or Version(v.cuda).major == cuda_major)
        ]
        if not ok:
            return None
        outright = [v for v in ok if self.outright(v.cuda)]
        return max(outright or ok, key=lambda v: Version(v.cuda))


def _stable(compat: CompatKnowledge) -> list[TorchRelease]:
    return sorted(
        (r for r in compat.torch_releases if r.status == "ga"), key=lambda r: Version(r.torch), reverse=True
    )


def _same_release(release: TorchRelease, installed: Installed | None) -> bool:
    base = installed.base if installed else None
    return base is not None and not base.is_devrelease and (base.major, base.minor) == _short(release.torch)


def command(
    m: Machine, release: TorchRelease, variant: TorchVariant, installed: Installed | None
) -> tuple[str, ...]:
    """pip argv for this build, moving torchvision/torchaudio with it.

    Within the installed release, exact versions with the other variant's tag: pip reinstalls
    them, the version differs. Another release: a wildcard the installed version does not satisfy.
    Either way no --force-reinstall, which would pull every dependency again from the index.
    """
    tag = variant.tag
    base = installed.base if installed is not None and _same_release(release, installed) else None
    if base is not None and variant.first_patch and Version(variant.first_patch) > base:
        base = Version(variant.first_patch)  # the variant started with a later patch (2.12.1+cu129)
    specs = [f"torch=={base}+{tag}" if base else f"torch=={release.torch}.*"]
    for name in ("torchvision", "torchaudio"):
        if installed is None or getattr(installed, name) is None:
            continue  # not installed: nothing to keep consistent
        exact = release.companion(name, base) if base else None
        minor = release.torchvision if name == "torchvision" else release.torchaudio
        if exact:
            specs.append(f"{name}=={exact}+{tag}")
        elif minor:
            specs.append(f"{name}=={minor}.*")
        else:
            specs.append(name)  # no release of it for this torch: let pip say so
    return (m.python, "-m", "pip", "install", *specs, "--index-url", INDEX + tag)


def _build(j: _Judge, release: TorchRelease, variant: TorchVariant, installed: Installed | None) -> Build:
    return Build(
        torch=release.torch,
        cuda=variant.cuda,
        through_compat=j.driver is not None and not j.outright(variant.cuda),
        argv=command(j.m, release, variant, installed),
    )


def _nightly_build(j: _Judge, newest: TorchRelease, installed: Installed) -> Build | None:
    """The nightly index, for a nightly newer than every stable release: the variant the newest
    stable release would use here, with a date-free spec."""
    variant = j.variant(newest, None)
    if variant is None:
        return None
    specs = ["torch", *(n for n in ("torchvision", "torchaudio") if getattr(installed, n))]
    argv = (
        j.m.python,
        "-m",
        "pip",
        "install",
        "--pre",
        *specs,
        "--index-url",
        f"{INDEX}nightly/{variant.tag}",
    )
    return Build(
        torch=str(installed.base),
        cuda=variant.cuda,
        through_compat=not j.outright(variant.cuda),
        argv=argv,
        nightly=True,
    )


def plan(
    compat: CompatKnowledge, m: Machine, installed: Installed | None, *, cuda_major: int | None = None
) -> TorchPlan | None:
    """The advice for this machine, or None: no GPU known, a Jetson (NVIDIA builds its wheels), or
    no official build with code for every GPU here."""
    if not m.ccs or any((a := compat.architecture(cc)) is not None and a.tegra for cc in m.ccs):
        return None
    releases = _stable(compat)
    if not releases:
        return None
    newest = releases[0]
    here = _Judge(compat, m, m.driver, m.driver_cuda)
    if _works(here, installed, cuda_major):
        return TorchPlan(verdict="keep")
    base = installed.base if installed is not None else None
    if (
        installed is not None
        and base is not None
        and base.is_devrelease
        and base.release[:2] > _short(newest.torch)
    ):
        # A nightly of a release not out yet: stay on nightlies, from their index, date-free.
        nightly = _nightly_build(here, newest, installed)
        if nightly is not None:
            return TorchPlan(verdict="install", build=nightly)
    now = _choose(here, releases, installed, cuda_major)
    if now is not None and (here.variant(newest, cuda_major) is not None or not _driver_ended(compat, m)):
        return TorchPlan(verdict="install", build=now)
    # This driver cannot run the current release and its branch has ended (or nothing runs on it):
    # the driver comes first, and what runs on the current one is the alternative.
    newest_major = max(Version(v.cuda).major for v in newest.variants)
    current = _branch(m.driver)
    advice = compat.driver_for(list(m.ccs), today=m.today, cuda_major=newest_major, at_least=current)
    if advice is None or advice.branch.branch == current:
        return TorchPlan(verdict="install", build=now) if now else None  # a newer driver would not help
    upgraded = _Judge(compat, m, advice.min_version or f"{advice.branch.branch}.0", advice.branch.max_cuda)
    if _works(upgraded, installed, cuda_major):
        # The installed build is right for these GPUs; only the driver is too old for it.
        return TorchPlan(verdict="driver_first", driver=advice, alternative=now)
    after = _choose(upgraded, releases, installed, cuda_major)
    if after is None:
        return TorchPlan(verdict="install", build=now) if now else None
    return TorchPlan(verdict="driver_first", build=after, driver=advice, alternative=now)


def _works(j: _Judge, installed: Installed | None, cuda_major: int | None) -> bool:
    """The installed build has SASS for every GPU and this driver runs its CUDA."""
    return (
        installed is not None
        and installed.cuda is not None
        and j.covers(installed.arch_list)
        and j.runs(installed.cuda)
        and (cuda_major is None or Version(installed.cuda).major == cuda_major)
    )


def _choose(
    j: _Judge, releases: list[TorchRelease], installed: Installed | None, cuda_major: int | None
) -> Build | None:
    """The smallest change that works: another variant of the installed release, else the
    newest release with a variant that works."""
    same = next((r for r in releases if _same_release(r, installed)), None)
    if same is not None and (variant := j.variant(same, cuda_major)) is not None:
        return _build(j, same, variant, installed)
    for release in releases:
        if (variant := j.variant(release, cuda_major)) is not None:
            return _build(j, release, variant, installed)
    return None


def _driver_ended(compat: CompatKnowledge, m: Machine) -> bool:
    """The driver's branch is past its end of life on ``m.today`` (or older than every branch
    still supported)."""
    branch = _branch(m.driver)
    if branch is None:
        return False
    row = next((b for b in compat.driver_branches if b.branch == branch), None)
    if row is not None and row.end_of_life is not None:
        return row.end_of_life < m.today[:7]
    supported = [b.branch for b in compat.driver_branches if b.end_of_life and b.end_of_life >= m.today[:7]]
    return bool(supported) and branch < min(supported)
