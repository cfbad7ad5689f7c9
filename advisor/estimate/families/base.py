"""What every model family gives the memory estimate, and the job's dtypes (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.estimate.families.pieces import Dtypes
from advisor.estimate.job import Job
from advisor.knowledge.models import ModelSpec


@dataclass(frozen=True)
class Activations:
    """The tensors one training step saves for backward."""

    saved: int  # bytes alive at the end of forward
    one_block: int  # one block's saved bytes: what backward recomputes under checkpointing
    logits: int  # the fp32 logits the loss holds (b x tokens x V x 4): backward doubles it briefly
    how: str
    # checkpointing: what is still saved when backward recomputes the first block (its input and
    # the model-level tensors; the later blocks' inputs are freed by then)
    at_first_recompute: int = 0
    # the last block's backward, over the activations: the head's weight gradient, the down
    # projection's, and the gradient of the MLP's intermediate (the logits are freed by then)
    last_block_backward: int = 0


def dtypes(job: Job) -> Dtypes:
    amp = job.mixed and job.task in ("train", "finetune")  # autocast over fp32 weights
    pure16 = job.precision in ("fp16", "bf16") and not amp  # 16-bit weights and activations
    return Dtypes(
        matmul=2 if (amp or pure16) else 4,
        residual=2 if pure16 else 4,
        autocast=amp,
        device=job.device,
        frozen_linears=job.task in ("lora", "qlora"),
        adapter=2 if job.task == "qlora" else 4,
    )


def last_block_backward(
    m: ModelSpec, job: Job, dt: Dtypes, tokens: int, head: list[tuple[int, int, int]], logits: int
) -> int:
    """What the last block's backward adds over the saved activations, at its MLP."""
    h, i = m.hidden_size or 0, (m.intermediate_size or 0) * (m.experts_per_token or 1)
    extra = dt.matmul * tokens * i  # the gradient of the MLP's intermediate
    if not dt.frozen_linears:
        # fp32 gradients of the head and the down projection; under autocast the down
        # projection's gradient is first computed for its 16-bit copy
        extra += 4 * matmul_params(head) + (6 if dt.autocast else 4) * h * i
    return extra - logits


def matmul_params(mats: list[tuple[int, int, int]]) -> int:
    return sum(fan_in * fan_out * n for fan_in, fan_out, n in mats)


def short(n: float) -> str:
    gib = 1024**3
    return f"{n / gib:.2f} GiB" if n >= gib / 10 else f"{n / 1024**2:.1f} MiB"
