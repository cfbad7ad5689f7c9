"""`advisor estimate` against real PyTorch: the table of estimated vs measured bytes.

    python benchmarks/estimate_vs_measured.py

Builds each model of CASES on the CPU, trains one step, counts parameters, gradients, optimizer
state and the tensors saved for backward (benchmarks/memory_harness.py), and prints the estimate
for the same configuration next to it. tests/test_estimate_accuracy.py asserts the same cases.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from advisor.estimate.job import Job
from advisor.estimate.memory import estimate_memory
from advisor.knowledge.models import ModelSpec
from benchmarks.memory_harness import CNN, MLP, GPTConfig, measure_gpt, measure_step

LINES = ("weights", "gradients", "optimizer", "activations")


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    config: Any
    batch: int
    seq: int = 0
    attention: str = "sdpa"
    amp: bool = False
    ckpt: bool = False
    optimizer: str = "adamw"


LLAMA_STYLE = GPTConfig(
    hidden=256,
    layers=3,
    heads=8,
    kv_heads=2,
    intermediate=688,
    mlp="swiglu",
    norm="rmsnorm",
    tie=False,
    vocab=1000,
)
CASES = [
    Case("gpt tiny fp32 sdpa", "gpt", GPTConfig(hidden=128, layers=2, heads=4, intermediate=512), 4, 64),
    Case("gpt small fp32 eager", "gpt", GPTConfig(), 2, 128, attention="eager"),
    Case("gpt small bf16-amp", "gpt", GPTConfig(), 2, 128, amp=True),
    Case("gpt small ckpt", "gpt", GPTConfig(), 2, 256, ckpt=True),
    Case("gpt small amp+ckpt eager", "gpt", GPTConfig(), 1, 256, attention="eager", amp=True, ckpt=True),
    Case(
        "llama-style gqa swiglu rms",
        "gpt",
        LLAMA_STYLE,
        2,
        192,
    ),
    Case(
        "llama-style amp eager",
        "gpt",
        LLAMA_STYLE,
        2,
        128,
        attention="eager",
        amp=True,
    ),
    Case(
        "gpt wide long seq",
        "gpt",
        GPTConfig(hidden=384, layers=2, heads=6, kv_heads=6, intermediate=1536),
        1,
        512,
    ),
    Case(
        "gpt big batch sgd",
        "gpt",
        GPTConfig(hidden=192, layers=3, heads=3, kv_heads=3, intermediate=768),
        16,
        32,
        optimizer="sgd",
    ),
    Case("mlp", "mlp", [784, 1024, 512, 10], 256),
    Case("cnn", "cnn", [3, 32, 64, 128], 16),
]


def spec_for(case: Case) -> ModelSpec:
    if case.kind == "mlp":
        sizes = case.config
        params = sum(a * b + b for a, b in pairwise(sizes))
        return ModelSpec(
            name="mlp", display_name="MLP", kind="mlp", params=params, layer_sizes=sizes, sources=["test"]
        )
    if case.kind == "cnn":
        ch = case.config
        params = sum(9 * a * b + 2 * b for a, b in pairwise(ch)) + ch[-1] * 10 + 10
        return ModelSpec(
            name="cnn",
            display_name="CNN",
            kind="cnn",
            params=params,
            channels=ch,
            image_size=32,
            num_classes=10,
            sources=["test"],
        )
    c: GPTConfig = case.config
    hd = c.hidden // c.heads
    blocks = c.layers * (
        c.hidden * (c.heads + 2 * c.kv_heads) * hd
        + c.hidden * c.hidden
        + (3 if c.mlp == "swiglu" else 2) * c.hidden * c.intermediate
        + (4 if c.norm == "layernorm" else 2) * c.hidden
    )
    params = (
        blocks + c.vocab * c.hidden * (1 if c.tie else 2) + (2 if c.norm == "layernorm" else 1) * c.hidden
    )
    return ModelSpec(
        name="gpt",
        display_name="GPT",
        kind="decoder",
        params=params,
        hidden_size=c.hidden,
        num_layers=c.layers,
        num_attention_heads=c.heads,
        num_kv_heads=c.kv_heads,
        head_dim=hd,
        intermediate_size=c.intermediate,
        mlp=c.mlp,
        norm=c.norm,
        vocab_size=c.vocab,
        tie_embeddings=c.tie,
        fused_qkv=True,
        sources=["test"],
    )


def measured(case: Case) -> dict[str, int]:
    torch.manual_seed(0)
    amp = torch.bfloat16 if case.amp else None
    if case.kind == "mlp":
        sizes = case.config
        x, y = torch.randn(case.batch, sizes[0]), torch.randint(0, sizes[-1], (case.batch,))
        return measure_step(MLP(sizes), (x, y), optimizer=case.optimizer)
    if case.kind == "cnn":
        x, y = torch.randn(case.batch, 3, 32, 32), torch.randint(0, 10, (case.batch,))
        return measure_step(CNN(case.config, 10), (x, y), optimizer=case.optimizer)
    return measure_gpt(
        case.config,
        case.batch,
        case.seq,
        attention=case.attention,
        grad_checkpointing=case.ckpt,
        autocast_dtype=amp,
        optimizer=case.optimizer,
    )


def estimated(case: Case) -> dict[str, int]:
    job = Job(
        task="train",
        precision="bf16" if case.amp else "fp32",
        optimizer=case.optimizer,  # type: ignore[arg-type]
        batch=case.batch,
        attention=case.attention,
        grad_checkpointing=case.ckpt,  # type: ignore[arg-type]
        device="cpu",
    )
    e = estimate_memory(spec_for(case), job, case.seq or 1)
    return {line: getattr(e, line) for line in LINES}


def main() -> None:
    print(f"{'case':<30} {'line':<12} {'estimated':>12} {'measured':>12} {'ratio':>7}")
    for case in CASES:
        est, got = estimated(case), measured(case)
        for line in (*LINES, "total"):
            e = sum(est.values()) if line == "total" else est[line]
            g = sum(got.values()) if line == "total" else got[line]
            print(f"{case.name:<30} {line:<12} {e:>12,} {g:>12,} {e / g if g else float('nan'):>7.3f}")


if __name__ == "__main__":
    main()
