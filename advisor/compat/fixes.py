"""The fixes that name a PyTorch build or a driver: the machine as the planner sees it, and the
plan put into words (advice.py decides; this says it, with the command as argv joined for a
shell)."""

from __future__ import annotations

import shlex
from typing import Any, NamedTuple

from packaging.version import Version

from advisor.compat.advice import Build, Installed, Machine, TorchPlan, plan
from advisor.compat.common import driver_cuda, gpu_ccs
from advisor.compat.findings import Facts
from advisor.knowledge.compat import DriverAdvice


def machine(facts: Facts) -> Machine:
    return Machine(
        ccs=tuple(gpu_ccs(facts)),
        driver=facts.snapshot.nvml.driver_version.value,
        driver_cuda=driver_cuda(facts),
        today=facts.snapshot.taken_at[:7],
        python=facts.snapshot.target.executable,
    )


def installed(facts: Facts) -> Installed | None:
    target = facts.snapshot.target
    torch = target.torch
    if torch is None:
        return None
    packages = target.environment.packages if target.environment else {}
    return Installed(
        version=torch.version,
        cuda=torch.cuda_version,
        arch_list=tuple(torch.arch_list),
        torchvision=packages.get("torchvision"),
        torchaudio=packages.get("torchaudio"),
    )


def torch_plan(facts: Facts, *, cuda_major: int | None = None) -> TorchPlan | None:
    return plan(facts.compat, machine(facts), installed(facts), cuda_major=cuda_major)


def build_text(build: Build) -> str:
    what = (
        f"the current nightly for CUDA {build.cuda}"
        if build.nightly
        else f"PyTorch {build.torch} built for CUDA {build.cuda}"
    )
    compat = (
        " (it runs on this driver through CUDA minor-version compatibility)" if build.through_compat else ""
    )
    return f"install {what}{compat}: {shlex.join(build.argv)}"


class Suggestion(NamedTuple):
    text: str  # the fix in words; the commands follow it, each on a line of its own
    command: list[str] | None  # the build to install, as argv
    alternative: list[str] | None = None  # the other build's install ("or ..." in the text)


def build_phrase(build: Build) -> str:
    what = (
        f"the current nightly for CUDA {build.cuda}"
        if build.nightly
        else f"PyTorch {build.torch} built for CUDA {build.cuda}"
    )
    compat = (
        " (it runs on this driver through CUDA minor-version compatibility)" if build.through_compat else ""
    )
    return f"install {what}{compat}"


def suggestion(facts: Facts, *, cuda_major: int | None = None) -> Suggestion | None:
    """The fix that names a build, with the install as a command of its own."""
    p = torch_plan(facts, cuda_major=cuda_major)
    if p is None or p.verdict == "keep":
        return None
    if p.verdict == "install":
        return Suggestion(build_phrase(p.build), list(p.build.argv)) if p.build else None
    assert p.driver is not None
    text = f"upgrade the NVIDIA driver to {driver_text(facts, p.driver)}"
    torch = facts.snapshot.target.torch
    two = p.build is not None and p.alternative is not None  # then the words say which is which
    if p.build is not None:
        text += f", then {build_phrase(p.build)}" + (" (first command)" if two else "")
    elif torch is not None:
        text += f"; torch {torch.version} then runs as it is"
    if p.alternative is not None:
        text += f"; or keep this driver and {build_phrase(p.alternative)}" + (
            " (second command)" if two else ""
        )
    command = list(p.build.argv) if p.build else None
    alternative = list(p.alternative.argv) if p.alternative else None
    return Suggestion(text, command, alternative)


def fix_of(found: Suggestion | None, otherwise: str) -> dict[str, Any]:
    """A Finding's fix fields from a suggestion, or the words to say without one."""
    if found is None:
        return {"fix": otherwise}
    return {"fix": found.text, "fix_command": found.command, "fix_alternative": found.alternative}


def suggestion_text(facts: Facts, *, cuda_major: int | None = None) -> str | None:
    """The fix that names a build: install it, or upgrade the driver first, or nothing to do."""
    p = torch_plan(facts, cuda_major=cuda_major)
    if p is None or p.verdict == "keep":
        return None
    if p.verdict == "install":
        return build_text(p.build) if p.build else None
    assert p.driver is not None
    text = f"upgrade the NVIDIA driver to {driver_text(facts, p.driver)}"
    torch = facts.snapshot.target.torch
    if p.build is not None:
        text += f", then {build_text(p.build)}"
    elif torch is not None:
        text += f"; torch {torch.version} then runs as it is"
    if p.alternative is not None:
        text += f"; or keep this driver and {build_text(p.alternative)}"
    return text


def driver_text(facts: Facts, advice: DriverAdvice) -> str:
    """'R580 or newer (580.65.06+; long-term support to 2028-06): sudo apt install nvidia-driver-580'."""
    branch = advice.branch
    notes = [f"{advice.min_version}+"] if advice.min_version else []
    if branch.kind == "lts" and branch.end_of_life:
        notes.append(f"long-term support to {branch.end_of_life}")
    if "ubuntu" in (facts.snapshot.host.os or "").lower():  # Ubuntu's packages carry the branch
        notes.append(f"sudo apt install nvidia-driver-{branch.branch}")
    text = f"R{branch.branch}" + (f", {advice.limited_by}" if advice.limited_by else " or newer")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def driver_advice_text(facts: Facts, ccs: list[str]) -> str | None:
    """The driver to install for these GPUs alone (no driver yet, or one older than the GPU)."""
    if not ccs:
        return None
    newest = max(facts.compat.torch_releases, key=lambda r: Version(r.torch))
    cuda_major = max(Version(v.cuda).major for v in newest.variants)
    advice = facts.compat.driver_for(ccs, today=facts.snapshot.taken_at[:7], cuda_major=cuda_major)
    return driver_text(facts, advice) if advice else None
