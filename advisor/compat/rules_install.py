"""Rules about the target Python itself: the worker answered, and torch imports; a failed import
names the library and why (a missing nvidia-* wheel, wheels split between lib/ and lib64/)."""

from __future__ import annotations

import os
import shlex

from advisor.compat.common import gpu_present, import_cause
from advisor.compat.findings import Emit, Facts, Finding, Skip, rule
from advisor.compat.fixes import suggestion_text
from advisor.compat.needs import TORCH


@rule(
    "torch-probe",
    "The target Python answered: no crash, hang or garbage while importing torch",
    emits={
        "torch-probe": "ok",
        "python-not-found": "warn",
        "torch-probe-hang": "fail",
        "torch-probe-crashed": "fail",
        "torch-probe-garbage": "warn",
        "torch-probe-failed": "warn",
    },
)
def worker_status(facts: Facts) -> list[Finding] | Skip:
    t = facts.snapshot.target
    where = f"interpreter: {t.executable}"
    if t.status == "not_run":
        return Skip("not_checked", "the framework probe was skipped (--no-python)")
    if t.status == "ok":
        return []
    if t.status == "not_found":
        return [
            Finding(
                id="python-not-found",
                severity="warn",
                subject="python",
                summary=f"The Python to check could not be run: {t.executable}.",
                evidence=[t.detail or ""],
                fix="pass an interpreter with --python PATH",
            )
        ]
    if t.status == "timeout":
        return [
            Finding(
                id="torch-probe-hang",
                severity="fail",
                subject="torch",
                summary="Importing torch or initialising CUDA hung; a training script would hang the "
                "same way.",
                evidence=[t.detail or "", where],
                fix="look for a GPU stuck in a bad state (nvidia-smi; sudo dmesg | grep -i xid), a "
                "stale lock on a network file system, or a very slow first-time PTX JIT "
                "(CUDA_CACHE_PATH); rerun with --timeout to wait longer",
            )
        ]
    if t.status == "crashed":
        return [
            Finding(
                id="torch-probe-crashed",
                severity="fail",
                subject="torch",
                summary="The Python process crashed while importing torch or initialising CUDA.",
                evidence=[t.detail or "", where],
                fix="reproduce it by hand; a crash there usually means mismatched CUDA "
                "libraries on LD_LIBRARY_PATH or a broken driver install",
                fix_command=[t.executable, "-X", "faulthandler", "-c", "import torch; torch.zeros(1).cuda()"],
            )
        ]
    return [
        Finding(
            id="torch-probe-garbage" if t.status == "garbage" else "torch-probe-failed",
            severity="warn",
            subject="torch",
            summary="The framework probe gave no usable answer, so PyTorch could not be checked.",
            evidence=[t.detail or "", where],
            fix="run it by hand to see what is printed",
            fix_command=[t.executable, "-c", "import torch; print(torch.__version__)"],
        )
    ]


@rule(
    "target-leftovers",
    "The target Python's probe ended cleanly: no process left behind, its output whole",
    emits={"target-leftovers": "ok", "target-left-process": "warn", "target-output-cut": "warn"},
)
def target_leftovers(facts: Facts) -> list[Finding] | Skip:
    t = facts.snapshot.target
    if t.status in ("not_run", "not_found"):
        return Skip("not_applicable", "no probe of the target Python ran")
    out: list[Finding] = []
    if t.escaped_pids:
        pids = ", ".join(str(p) for p in t.escaped_pids)
        out.append(
            Finding(
                id="target-left-process",
                severity="warn",
                subject="python",
                summary=f"The target Python left a process running (PID {pids}) that kept its "
                "output open; advisor stopped waiting for it.",
                evidence=[f"interpreter: {t.executable}", "the process left advisor's session (setsid)"],
                fix=f"see what it is: ps -o pid,ppid,cmd -p {pids}; a sitecustomize.py or .pth file "
                "in that environment may start it on every interpreter start",
            )
        )
    if t.output_truncated:
        out.append(
            Finding(
                id="target-output-cut",
                severity="warn",
                subject="python",
                summary="The target Python printed more than advisor reads (8 MiB); the rest was dropped.",
                evidence=[f"interpreter: {t.executable}"],
                fix=f"run {facts.python_cmd} -c pass and look for what prints on start (sitecustomize, .pth)",
            )
        )
    return out


@rule(
    "torch-version",
    "The target's torch reports a release version advisor can compare",
    needs=(TORCH,),
    emits={"torch-version": "ok", "torch-version-unparsed": "info"},
)
def torch_version(facts: Facts) -> list[Finding] | Skip:
    from packaging.version import InvalidVersion, Version

    torch = facts.snapshot.target.torch
    assert torch is not None  # needs TORCH
    try:
        Version(torch.version.split("+")[0])
    except InvalidVersion:
        return [
            Finding(
                id="torch-version-unparsed",
                severity="info",
                subject="torch",
                summary=f"torch reports the version {torch.version!r}, which is not a release number "
                "(PEP 440): advisor checks its CUDA build and GPU architectures, but not which "
                "release it is (driver floors, known bugs of a release).",
                evidence=[f"torch.__version__ = {torch.version!r}"],
                fix="nothing to fix for a custom build; pass the version it was built from if advice "
                "by release matters",
            )
        ]
    return []


@rule(
    "torch-installed",
    "PyTorch imports in the target Python; a failed import names the library and why",
    emits={
        "torch-installed": "ok",
        "torch-not-installed": ("info", "warn"),
        "torch-import-missing-wheel": "fail",
        "torch-import-split-site": "fail",
        "torch-import-failed": Emit(("fail",), explained_by=("library-shadowing",)),
    },
)
def torch_installed(facts: Facts) -> list[Finding] | Skip:
    t = facts.snapshot.target
    if t.status not in ("ok", "failed"):
        return Skip("not_checked", f"the framework probe did not answer ({t.status})")
    if t.torch is not None:
        return [
            Finding(
                id="torch-installed",
                severity="ok",
                subject="torch",
                summary=f"torch {t.torch.version} imports in {t.executable}.",
            )
        ]
    if not t.torch_import_error:
        return Skip("not_checked", "the worker did not say whether torch imports")
    cause = import_cause(facts)
    if cause.kind == "not_installed":
        return [_not_installed(facts)]
    error = t.torch_import_error
    interpreter = f"interpreter: {t.executable}"
    if cause.kind == "missing_wheel":
        pins = [_pin(line) for line in cause.missing]
        return [
            Finding(
                id="torch-import-missing-wheel",
                severity="fail",
                subject="torch",
                summary=f"torch cannot load {cause.library or 'its CUDA libraries'}: the nvidia-* wheel "
                "that ships it is not installed (an install that skipped torch's dependencies: a lock "
                "file, --no-deps, a package manager that filtered them).",
                evidence=[interpreter, *(f"torch requires {line}; not installed" for line in cause.missing)],
                error_text=error,
                fix="install the missing wheels at the versions torch asks for",
                fix_command=[facts.snapshot.target.executable, "-m", "pip", "install", *pins],
            )
        ]
    if cause.kind == "split_site":
        return [
            Finding(
                id="torch-import-split-site",
                severity="fail",
                subject="torch",
                summary="torch and its nvidia-* wheels were installed into two site-packages folders "
                "(lib/ and lib64/), and torch looks for its CUDA libraries only next to itself.",
                evidence=[interpreter, *cause.evidence],
                error_text=error,
                fix=_one_site_fix(cause.torch_site or "", cause.wheel_site or ""),
            )
        ]
    return [
        Finding(
            id="torch-import-failed",
            severity="fail",
            subject="torch",
            summary="PyTorch is installed but fails to import"
            + (f": {cause.library} cannot be loaded." if cause.library else "."),
            evidence=[interpreter, *cause.evidence],
            error_text=error,
            fix="a missing or mismatched CUDA library is the usual cause: check LD_LIBRARY_PATH, "
            "then reinstall the same torch with its own libraries",
            fix_command=_reinstall(facts),
        )
    ]


def _one_site_fix(torch_site: str, wheel_site: str) -> str:
    """Put the environment back as `python -m venv` makes it: lib64 a symlink to lib."""
    prefix = os.path.dirname(os.path.dirname(os.path.dirname(wheel_site)))
    lib64 = os.path.join(prefix, "lib64")
    if os.path.basename(os.path.dirname(os.path.dirname(wheel_site))) != "lib64":
        return f"reinstall the nvidia-* wheels into {torch_site}, next to torch"
    move = f"mv -n {shlex.quote(wheel_site)}/* {shlex.quote(torch_site)}/"
    link = f"rm -r {shlex.quote(lib64)} && ln -s lib {shlex.quote(lib64)}"
    return (
        "recreate the environment so lib64 is a symlink to lib (python -m venv does this; so does a "
        f"current uv) and reinstall, or merge the two folders: {move} && {link}"
    )


def _reinstall(facts: Facts) -> list[str]:
    """The same torch again, from the index its local tag names: only torch, its files replaced."""
    env = facts.snapshot.target.environment
    have = env.torch_dist if env else None
    argv = [facts.snapshot.target.executable, "-m", "pip", "install", "--force-reinstall", "--no-deps"]
    if not have:
        return [*argv, "torch"]
    tag = have.split("+")[1] if "+" in have else None
    index = ["--index-url", f"https://download.pytorch.org/whl/{tag}"] if tag else []
    return [*argv, f"torch=={have}", *index]


def _pin(line: str) -> str:
    """'nvidia-cudnn-cu12==9.1.0.70; platform_system == "Linux"' -> 'nvidia-cudnn-cu12==9.1.0.70'."""
    from packaging.requirements import InvalidRequirement, Requirement  # lazy: 6 ms

    try:
        req = Requirement(line)
    except InvalidRequirement:
        return line.split(";")[0].strip()
    return f"{req.name}{req.specifier}"


def _not_installed(facts: Facts) -> Finding:
    t = facts.snapshot.target
    with_torch = [o for o in t.others if o.torch_path]
    evidence = [f"checked {t.executable}" + (f" (chosen from {t.chosen_by})" if t.chosen_by else "")]
    evidence += [
        f"has torch{' ' + o.torch_version if o.torch_version else ''}: {o.executable} ({o.found_by})"
        for o in with_torch[:5]
    ]
    if with_torch:
        other = shlex.quote(with_torch[0].executable)
        fix = f"check the environment you train in: advisor check --python {other}"
    else:
        install = suggestion_text(facts) if gpu_present(facts) else None
        fix = (
            "if your PyTorch lives in another environment, activate it or pass advisor check --python "
            "/path/to/env/bin/python" + (f"; to install one here: {install}" if install else "")
        )
    gpu = gpu_present(facts)
    return Finding(
        id="torch-not-installed",
        severity="warn" if gpu else "info",
        subject="torch",
        summary=f"PyTorch is not installed in {t.executable}"
        + (
            f"; {len(with_torch)} other environment(s) on this machine have it."
            if with_torch
            else (": this GPU machine has no PyTorch to check." if gpu else ".")
        ),
        evidence=evidence,
        fix=fix,
    )
