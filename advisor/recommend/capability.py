"""What one GPU of a machine can do: the largest preset for each kind of job (pure). The end of
`advisor check`."""

from __future__ import annotations

from advisor.capability import Capability
from advisor.estimate.job import Job
from advisor.estimate.report import estimate
from advisor.knowledge.cards import Card
from advisor.knowledge.models import ModelSpec

CAPABILITY_JOBS: list[tuple[str, Job]] = [
    ("inference in fp16", Job(task="inference", precision="fp16", seq=2048)),
    ("inference in 4-bit", Job(task="inference", precision="int4", seq=2048)),
    ("QLoRA fine-tuning", Job(task="qlora", precision="bf16", seq=512, grad_checkpointing=True)),
    ("LoRA fine-tuning", Job(task="lora", precision="bf16", seq=512, grad_checkpointing=True)),
    (
        "full fine-tuning (bf16 AdamW)",
        Job(task="finetune", precision="bf16", seq=512, grad_checkpointing=True),
    ),
]


def capabilities(card: Card, presets: tuple[ModelSpec, ...]) -> list[Capability]:
    """For each kind of job, the largest language-model preset one such GPU can run."""
    lms = sorted((m for m in presets if m.kind == "decoder"), key=lambda m: m.params)
    out = []
    for label, job in CAPABILITY_JOBS:
        best = None
        for m in lms:
            report = estimate(m, job, card)
            if report.fit and report.fit.fits:
                best = (m, report.memory.total)
        out.append(
            Capability(
                task=label,
                largest=best[0].display_name if best else None,
                memory_bytes=best[1] if best else None,
            )
        )
    return out
