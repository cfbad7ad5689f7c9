"""`advisor estimate` against real PyTorch for the networks without attention: the table of
estimated vs measured bytes.

    python benchmarks/estimate_vs_measured.py

Builds each model of CASES on the CPU, trains one step, counts parameters, gradients, optimizer
state and the tensors saved for backward (benchmarks/memory_harness.py), and prints the estimate
for the same configuration next to it. tests/test_estimate_accuracy.py asserts the same cases.
Transformers are measured on the real Hugging Face classes instead:
benchmarks/estimate_vs_transformers.py.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from advisor.estimate.job import Job
from advisor.estimate.memory import estimate_memory
from advisor.knowledge.models import ModelSpec
from benchmarks.memory_harness import CNN, MLP, measure_step

LINES = ("weights", "gradients", "optimizer", "activations")


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # mlp | cnn
    config: list[int]
    batch: int
    optimizer: str = "adamw"


CASES = [
    Case("mlp", "mlp", [784, 1024, 512, 10], 256),
    Case("mlp sgd", "mlp", [784, 2048, 10], 64, optimizer="sgd"),
    Case("cnn", "cnn", [3, 32, 64, 128], 16),
]


def spec_for(case: Case) -> ModelSpec:
    if case.kind == "mlp":
        sizes = case.config
        params = sum(a * b + b for a, b in pairwise(sizes))
        return ModelSpec(
            name="mlp", display_name="MLP", kind="mlp", params=params, layer_sizes=sizes, sources=["test"]
        )
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


def measured(case: Case) -> dict[str, int]:
    torch.manual_seed(0)
    if case.kind == "mlp":
        sizes = case.config
        x, y = torch.randn(case.batch, sizes[0]), torch.randint(0, sizes[-1], (case.batch,))
        return measure_step(MLP(sizes), (x, y), optimizer=case.optimizer)
    x, y = torch.randn(case.batch, 3, 32, 32), torch.randint(0, 10, (case.batch,))
    return measure_step(CNN(case.config, 10), (x, y), optimizer=case.optimizer)


def estimated(case: Case) -> dict[str, int]:
    job = Job(task="train", precision="fp32", optimizer=case.optimizer, batch=case.batch, device="cpu")  # type: ignore[arg-type]
    e = estimate_memory(spec_for(case), job, 1)
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
