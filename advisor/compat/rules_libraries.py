"""Rules about the libraries the target loads and builds with: shadowed CUDA libraries, nvidia-*
wheels, forward-compatibility libcuda, the extension toolchain."""

from __future__ import annotations

import os
import shlex

from packaging.version import InvalidVersion, Version

from advisor.compat.common import import_cause, startup_error, version
from advisor.compat.findings import Facts, Finding, Skip, rule
from advisor.compat.fixes import suggestion_text
from advisor.compat.needs import ENVIRONMENT, TORCH_CUDA

# Forward compatibility (cuda-compat) runs only on data-center and some professional boards.
# https://docs.nvidia.com/deploy/cuda-compatibility/forward-compatibility.html
_COMPAT_BRANDS = {"tesla", "nvidia", "nvidia_rtx", "quadro_rtx", "quadro"}


def _site(path: str) -> bool:
    """Shipped with the Python packages (torch/lib, the nvidia-* wheels), not the system."""
    return "site-packages" in path or "dist-packages" in path


def _ld_dirs(facts: Facts) -> list[str]:
    return [d for d in facts.snapshot.host.environment.get("LD_LIBRARY_PATH", "").split(":") if d]


def _without(dirs: list[str], drop: set[str]) -> str:
    """The LD_LIBRARY_PATH to set instead: the same directories minus the shadowing ones."""
    kept = [d for d in dirs if d not in drop]
    return "unset LD_LIBRARY_PATH" if not kept else "export LD_LIBRARY_PATH=" + shlex.quote(":".join(kept))


@rule(
    "library-shadowing",
    "torch loads the CUDA libraries its wheels ship, not other copies on LD_LIBRARY_PATH",
    needs=(ENVIRONMENT,),
    emits={"library-shadowing": ("warn", "fail")},
)
def shadowing(facts: Facts) -> list[Finding] | Skip:
    env = facts.snapshot.target.environment
    torch = facts.snapshot.target.torch
    assert env is not None
    ld_dirs = _ld_dirs(facts)
    if torch is None:
        cause = import_cause(facts)
        named = env.import_library
        if cause.kind != "shadowed" or named is None:
            return Skip("not_applicable", "torch does not import, for another reason (torch-installed)")
        drop = {os.path.dirname(p) for p in named.on_ld_library_path}
        return [
            Finding(
                id="library-shadowing",
                severity="fail",
                subject="torch",
                summary=f"import torch fails because {named.library} is loaded from LD_LIBRARY_PATH "
                f"({', '.join(sorted(drop))}) instead of the copy torch's wheels ship.",
                evidence=[*cause.evidence, f"LD_LIBRARY_PATH={':'.join(ld_dirs)}"],
                error_text=facts.snapshot.target.torch_import_error,
                fix=f"drop {', '.join(sorted(drop))} from LD_LIBRARY_PATH for this environment: "
                f"{_without(ld_dirs, drop)} (and remove that export from your shell profile or the "
                "environment's activate script)",
            )
        ]
    if not torch.cuda_version:
        return Skip("not_applicable", f"torch {torch.version} is not a CUDA build")
    ships_own = bool(env.wheels_required) or any(_site(lib.path) for lib in env.libraries)
    foreign = [lib for lib in env.libraries if lib.library != "libcuda" and not _site(lib.path) and ships_own]
    if not foreign:
        return []
    # A library family loaded from both the wheels and elsewhere (libcublas beside a system
    # libcublasLt) is a mismatched set by construction; a cuDNN of another version makes torch
    # refuse cuDNN. Either breaks the job; a foreign copy alone may only be the same version.
    own = {lib.library for lib in env.libraries if _site(lib.path)}
    mixed = [lib for lib in foreign if lib.library in own]
    broken = (
        torch.cudnn_error if torch.cudnn_error and "libcudnn" in {lib.library for lib in foreign} else None
    )
    from_ld = {os.path.dirname(lib.path) for lib in foreign if os.path.dirname(lib.path) in ld_dirs}
    evidence = [f"{lib.library} from {lib.path}" for lib in foreign]
    evidence += [
        f"{lib.library} also from torch's wheels: {w.path}"
        for lib in mixed
        for w in env.libraries
        if w.library == lib.library and _site(w.path)
    ][:3]
    return [
        Finding(
            id="library-shadowing",
            severity="fail" if mixed or broken else "warn",
            subject="torch",
            summary="torch loaded CUDA libraries from outside its own install"
            + (
                ": cuDNN refuses to run with a different version."
                if broken
                else (
                    ", mixed with its own copies of the same library: a mismatched set that crashes or "
                    "fails in kernels."
                    if mixed
                    else ": a version mismatch between them breaks imports or kernels."
                )
            ),
            evidence=evidence + ([f"LD_LIBRARY_PATH={':'.join(ld_dirs)}"] if ld_dirs else []),
            error_text=broken or facts.compat.message("nvjitlink_undefined_symbol"),
            fix=(
                f"drop {', '.join(sorted(from_ld))} from LD_LIBRARY_PATH for this environment: "
                f"{_without(ld_dirs, from_ld)}"
            )
            if from_ld
            else "check ldconfig -p | grep -E 'libcudnn|libcublas' for system copies "
            "that win over the wheel's; reinstall torch so its nvidia-* wheels are used",
        )
    ]


@rule(
    "nvidia-wheels",
    "The nvidia-* wheels installed are the versions this torch was built for",
    needs=(ENVIRONMENT,),
    emits={"nvidia-wheels": "ok", "nvidia-wheel-mismatch": "warn"},
)
def wheels(facts: Facts) -> list[Finding] | Skip:
    env = facts.snapshot.target.environment
    torch = facts.snapshot.target.torch
    assert env is not None
    if not env.wheels_required:
        return Skip("not_applicable", "torch requires no nvidia-* wheels (its libraries are bundled)")
    if torch is None:
        return Skip("not_applicable", "torch does not import (torch-installed says why)")
    problems, pins = [], []
    for line in env.wheels_required:
        from packaging.requirements import InvalidRequirement, Requirement  # lazy: 6 ms

        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        have = env.wheels_installed.get(req.name)
        if have is None:
            problems.append(f"{req.name} is missing (torch needs {req.specifier or 'it'})")
            pins.append(f"{req.name}{req.specifier}")
            continue
        try:
            if req.specifier and Version(have) not in req.specifier:
                problems.append(f"{req.name} {have} installed; torch needs {req.specifier}")
                pins.append(f"{req.name}{req.specifier}")
        except InvalidVersion:
            continue
    if not problems:
        return []
    return [
        Finding(
            id="nvidia-wheel-mismatch",
            severity="warn",
            subject="torch",
            summary="The NVIDIA library wheels do not match what this torch was built against "
            "(another package upgraded them).",
            evidence=problems,
            error_text=facts.compat.message("nvjitlink_undefined_symbol"),
            fix="put back the versions this torch was built with: "
            + shlex.join([facts.snapshot.target.executable, "-m", "pip", "install", *pins]),
        )
    ]


@rule(
    "forward-compat",
    "CUDA forward-compatibility libraries are only used on GPUs that support them",
    emits={"forward-compat": "info", "forward-compat-unsupported": "fail"},
)
def forward_compat(facts: Facts) -> list[Finding] | Skip:
    env = facts.snapshot.target.environment
    host = facts.snapshot.host
    loaded = [
        lib.path
        for lib in (env.libraries if env else [])
        if lib.library == "libcuda" and "compat" in lib.path
    ]
    on_path = [d for d in host.compat_libraries if d in _ld_dirs(facts)]
    said = startup_error(facts)
    refused = said is not None and said.code == 804
    if not (loaded or on_path or refused):
        return Skip("not_applicable", "no forward-compatibility libcuda in use")
    unsupported = [
        g for g in facts.healthy_gpus if g.brand.value is not None and g.brand.value not in _COMPAT_BRANDS
    ]
    if not unsupported and not refused:
        return [
            Finding(
                id="forward-compat",
                severity="info",
                subject="driver",
                summary="CUDA forward-compatibility libraries are in use (supported on these GPUs).",
                evidence=[*loaded, *on_path],
            )
        ]
    where = [f"libcuda from {p}" for p in loaded] + [f"on LD_LIBRARY_PATH: {p}" for p in on_path]
    driver = facts.snapshot.nvml.driver_version.value
    return [
        Finding(
            id="forward-compat-unsupported",
            severity="fail",
            subject="driver",
            summary="CUDA runs in forward-compatibility mode (a libcuda newer than the host driver, as "
            "CUDA containers ship), but these GPUs do not support it: CUDA refuses to start.",
            evidence=where
            + [f"{g.label}: brand {g.brand.value}" for g in unsupported]
            + ([f"host driver {driver}"] if driver else []),
            error_text=said.text if refused and said else facts.compat.message("compat_not_supported"),
            fix="upgrade the host driver to one that supports the container's CUDA natively (then no "
            "forward compatibility is needed), or use an image built for the host driver's CUDA; in "
            "the image: mv /usr/local/cuda/compat /usr/local/cuda/compat.disabled && ldconfig",
        )
    ]


def _nvcc_cannot_target(facts: Facts, nvcc: Version, asked: bool) -> list[Finding]:
    """A toolkit older than a GPU's architecture cannot build extensions for it, although torch's
    own wheel may run there (sm_86 SASS runs on an 8.9 GPU; an extension is built for 8.9)."""
    out = []
    for gpu in facts.healthy_gpus:
        cc = gpu.compute_capability.value
        arch = facts.compat.architecture(cc) if cc else None
        if arch is None or (nvcc.major, nvcc.minor) >= _short(arch.first_cuda):
            continue
        sm = (cc or "").replace(".", "")
        out.append(
            Finding(
                id="nvcc-too-old-for-gpu",
                severity="fail" if asked else "warn",
                subject=gpu.label,
                summary=f"nvcc {nvcc} cannot compile for this GPU (compute capability {cc}): building "
                "a CUDA extension for it fails.",
                evidence=[f"compute capability {cc} ({arch.architecture}) needs CUDA {arch.first_cuda}+"],
                error_text=f"nvcc fatal   : Unsupported gpu architecture 'compute_{sm}'",
                fix=f"install the CUDA {arch.first_cuda} toolkit or newer and point CUDA_HOME at it",
            )
        )
    return out


def _short(text: str) -> tuple[int, int]:
    v = Version(text)
    return v.major, v.minor


def _for_nvcc(facts: Facts, nvcc: Version) -> str | None:
    """The torch build whose CUDA major is the local nvcc's, for these GPUs and this driver."""
    return suggestion_text(facts, cuda_major=nvcc.major)


@rule(
    "extension-toolchain",
    "nvcc matches torch's CUDA and ninja is present (fails only with --build-extensions)",
    needs=(TORCH_CUDA, ENVIRONMENT),
    emits={
        "extension-toolchain": "ok",
        "no-nvcc": ("info", "fail"),
        "nvcc-mismatch": ("warn", "fail"),
        "nvcc-too-old-for-gpu": ("warn", "fail"),
        "no-ninja": ("info", "warn"),
    },
)
def toolchain(facts: Facts) -> list[Finding]:
    env = facts.snapshot.target.environment
    torch = facts.snapshot.target.torch
    assert env is not None and torch is not None
    built = version(torch.cuda_version)
    nvcc = version(env.nvcc_version)
    asked = facts.build_extensions
    out = []
    if env.nvcc is None:
        out.append(
            Finding(
                id="no-nvcc",
                severity="fail" if asked else "info",
                subject="toolchain",
                summary="No CUDA compiler (nvcc): packages that build CUDA extensions from source "
                "(flash-attn, DeepSpeed ops, custom kernels) cannot.",
                evidence=["nvcc not found in CUDA_HOME, PATH or /usr/local/cuda"],
                fix=f"install the CUDA {torch.cuda_version} toolkit and set "
                f"CUDA_HOME=/usr/local/cuda-{torch.cuda_version}",
            )
        )
    elif built is not None and nvcc is not None and (nvcc.major, nvcc.minor) != (built.major, built.minor):
        major = nvcc.major != built.major
        short = f"{built.major}.{built.minor}"
        out.append(
            Finding(
                id="nvcc-mismatch",
                severity="fail" if asked and major else "warn",
                subject="toolchain",
                summary=f"nvcc is CUDA {nvcc} but torch was built with CUDA {built}: building CUDA "
                "extensions "
                + ("fails (torch refuses a different major version)." if major else "may mix headers.")
                + ("" if asked else " Nothing else needs nvcc."),
                evidence=[
                    f"nvcc: {env.nvcc} (release {env.nvcc_version})",
                    f"CUDA_HOME={env.cuda_home or '(unset)'}",
                    f"torch.version.cuda={built}",
                ],
                error_text=(
                    f"The detected CUDA version ({nvcc}) mismatches the version that was used to "
                    f"compile PyTorch ({built}). Please make sure to use the same CUDA versions."
                )
                if major
                else None,
                fix=f"install the CUDA {short} toolkit next to it and point the build at it: "
                f"export CUDA_HOME=/usr/local/cuda-{short}"
                + (
                    f"; or match torch to the toolkit you have: {local}"
                    if (local := _for_nvcc(facts, nvcc))
                    else ""
                ),
            )
        )
    if nvcc is not None:
        out += _nvcc_cannot_target(facts, nvcc, asked)
    if not env.ninja:
        out.append(
            Finding(
                id="no-ninja",
                severity="warn" if asked else "info",
                subject="toolchain",
                summary="ninja is not installed: torch.utils.cpp_extension falls back to slow serial "
                "builds, and some packages refuse to build.",
                evidence=["no ninja on PATH or in the environment"],
                fix="install ninja into this environment",
                fix_command=[facts.snapshot.target.executable, "-m", "pip", "install", "ninja"],
            )
        )
    if not out:
        out.append(
            Finding(
                id="extension-toolchain",
                severity="ok",
                subject="toolchain",
                summary=f"nvcc {env.nvcc_version} matches torch's CUDA {torch.cuda_version}; ninja is there.",
                evidence=[f"nvcc: {env.nvcc}"],
            )
        )
    return out
