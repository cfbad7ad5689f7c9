"""`advisor explain`: the rules of `check`, run on what a pasted report shows (pure).

Each rule declares what it reads; a rule whose facts the text does not show is not run and is
reported as not checked, with the command whose output would settle it. Facts that only a run
on the machine can give (the libraries torch loaded, the processes on a GPU) are never guessed.
"""

from __future__ import annotations

from pydantic import BaseModel

from advisor.compat.engine import RULES, CheckReport, diagnose
from advisor.compat.findings import Skip
from advisor.errors import AdvisorError
from advisor.knowledge.cards import Card
from advisor.knowledge.compat import CompatKnowledge
from advisor.paste.read import Pasted, read_report
from advisor.paste.snapshot import UNKNOWN_VERSION, Inferred, import_error_line, report_snapshot

# What each fact is, and what to paste for it.
PASTE = {
    "torch": "python -m torch.utils.collect_env",
    "torch.cuda": "python -m torch.utils.collect_env",
    "torch.is_cuda": "python -m torch.utils.collect_env",
    "torch.available": 'python -c "import torch; print(torch.cuda.is_available())"',
    "torch.archs": 'python -c "import torch; print(torch.__version__, torch.cuda.get_arch_list())"',
    "driver": "nvidia-smi",
    "driver.cuda": "nvidia-smi",
    "gpus": "nvidia-smi -L",
    "packages": "pip list",
    "nvcc": "nvcc --version",
    "kernel": "python -c \"import torch; print(torch.ones(1, device='cuda') + 1)\"",
    "machine": "advisor probe --json",  # run on that machine: what no report shows
}
# The facts each rule reads that a report may not show. Rules that read NVML readings skip on
# their own (a reading nobody pasted is "not probed").
READS: dict[str, tuple[str, ...]] = {
    "driver": ("driver",),
    "driver-cuda": ("driver.cuda", "torch.cuda"),
    "driver-frameworks": ("driver",),
    "cuda-init": ("torch.is_cuda", "torch.available"),
    "torch-version": ("torch",),
    "torch-installed": ("torch",),
    "torch-cuda-build": ("torch.cuda",),
    "torch-archs": ("torch.archs", "gpus"),
    "kernel-runs": ("kernel",),
    "torch-sees-fewer-gpus": ("machine",),
    "library-shadowing": ("machine",),
    "nvidia-wheels": ("packages", "torch.cuda"),
    "forward-compat": ("machine",),
    "extension-toolchain": ("nvcc", "torch.cuda"),
    "wsl-container": ("machine",),
    "gpu-features": ("gpus", "packages"),
}
# Rules about the run itself or the moment of the paste, not the machine: nothing to judge.
NOT_FOR_REPORTS = {
    "torch-probe": "a report is not a probe run",
    "target-leftovers": "a report is not a probe run",
    # nvidia-smi pasted mid-job shows the reporter's own job holding the memory
    "memory-held": "memory in a pasted table is usually the reporter's own job",
}
# Finding ids whose facts no report holds (ninja, the toolkit's location).
UNKNOWABLE = frozenset({"no-ninja", "no-nvcc"})


class ExplainReport(BaseModel):
    read: list[str]  # the kinds of block recognised
    facts: dict[str, str]  # what the text showed, as shown
    inferred: list[Inferred]
    check: CheckReport
    settle: list[str]  # commands whose output would settle what was not checked
    unparsed: list[str]
    exit_code: int


def known_facts(p: Pasted, snapshot_cuda: bool = False) -> set[str]:
    known: set[str] = set()  # "machine" never: only a run there shows it
    if p.torch_version or any(import_error_line(e) for e in p.errors):
        known.add("torch")  # its version, or the import that failed
    if p.torch_cuda or (p.torch_version and ("+cu" in p.torch_version or "+cpu" in p.torch_version)):
        known.add("torch.cuda")
    if any("torch not compiled with cuda enabled" in e.lower() for e in p.errors):
        known |= {"torch.cuda", "torch.available"}
    if p.cuda_available is not None or p.errors:
        known.add("torch.available")
    if p.arch_list:
        known.add("torch.archs")
    if "torch.cuda" in known or snapshot_cuda:
        known.add("torch.is_cuda")
    if p.driver_version or p.nvml_error:
        known.add("driver")
    if p.cuda_driver or p.driver_version:
        known.add("driver.cuda")
    if p.gpus:
        known.add("gpus")
    if p.packages:
        known.add("packages")
    if p.nvcc_version:
        known.add("nvcc")
    if any("no kernel image" in e.lower() for e in p.errors):
        known.add("kernel")
    return known


def looks_like_snapshot(text: str) -> bool:
    head = text.lstrip()[:4000]
    return head.startswith("{") and ('"advisor_version"' in head or '"nvml"' in head)


def explain_text(text: str, compat: CompatKnowledge, cards: tuple[Card, ...]) -> ExplainReport:
    if looks_like_snapshot(text):  # an `advisor probe --json` pasted whole: every fact is there
        from advisor.snapshot_file import parse_snapshot

        report = diagnose(parse_snapshot(text, "the pasted snapshot"), compat, cards)
        return ExplainReport(
            read=["advisor snapshot"],
            facts={},
            inferred=[],
            check=report,
            settle=[],
            unparsed=[],
            exit_code=report.exit_code,
        )
    p = read_report(text)
    if not p.kinds:
        raise AdvisorError(
            "found nothing advisor can read in this text (paste the output of "
            "python -m torch.utils.collect_env, nvidia-smi, or the error)"
        )
    snapshot, inferred = report_snapshot(p, compat, cards)
    torch = snapshot.target.torch
    known = known_facts(p, snapshot_cuda=bool(torch and torch.cuda_version))
    if torch and torch.cuda_version not in (None, UNKNOWN_VERSION):
        known.add("torch.cuda")  # inferred from the arch list the warning printed
    if any(i.fact == "torch arch list" for i in inferred):
        known.add("torch.archs")
    skip: dict[str, Skip] = {}
    settle: list[str] = []
    for r in RULES:
        if r.id in NOT_FOR_REPORTS:
            skip[r.id] = Skip("not_applicable", NOT_FOR_REPORTS[r.id])
            continue
        missing = [f for f in READS.get(r.id, ()) if f not in known]
        if (
            snapshot.target.torch
            and snapshot.target.torch.version == UNKNOWN_VERSION
            and r.id == "torch-version"
        ):
            missing.append("torch")
        if missing:
            hint = PASTE[missing[0]]
            skip[r.id] = Skip("not_checked", f"the text does not show {', '.join(missing)} (paste: {hint})")
            if hint not in settle:
                settle.append(hint)
    # a pasted extension-build error is a build: a toolkit mismatch there is the failure itself
    building = any("compiled with" in e.lower() or "used to compile" in e.lower() for e in p.errors)
    report = diagnose(snapshot, compat, cards, build_extensions=building, skip=skip, unknowable=UNKNOWABLE)
    return ExplainReport(
        read=p.kinds,
        facts=_facts(p),
        inferred=inferred,
        check=report,
        settle=settle,
        unparsed=p.unparsed,
        exit_code=report.exit_code,
    )


def _facts(p: Pasted) -> dict[str, str]:
    out = {
        "torch": p.torch_version,
        "torch CUDA build": p.torch_cuda,
        "torch ROCm build": p.torch_hip,
        "CUDA available": None if p.cuda_available is None else str(p.cuda_available),
        "driver": p.driver_version,
        "driver CUDA": None
        if p.cuda_driver is None
        else f"{p.cuda_driver // 1000}.{p.cuda_driver % 1000 // 10}",
        "nvcc": p.nvcc_version,
        "OS": p.os,
        "Python": p.python_version,
        "torch archs": " ".join(p.arch_list) or None,
    }
    for g in p.gpus:
        cc = f" (CC {g.compute_capability})" if g.compute_capability else ""
        out[f"GPU {g.index}"] = g.name + cc
    return {k: v for k, v in out.items() if v}
