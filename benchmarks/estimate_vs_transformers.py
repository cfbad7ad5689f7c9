"""`advisor estimate` against the real Hugging Face `transformers` classes, byte for byte.

    python benchmarks/estimate_vs_transformers.py [substring ...]

Each case builds a small random-init model of a real class from its config.json
(benchmarks/transformers_harness.py), runs it on the CPU and counts every byte: weights,
gradients, optimizer state, saved activations and the step's peak (training, step 2), or the KV
cache and the prefill's peak (inference). The estimate for the same config.json and job comes from
`advisor estimate --json --device cpu`, through the CLI. tests/test_estimate_transformers.py
holds every line and the peak within 10%.

Nothing here was fitted on these cases: the recipes in advisor/estimate/families/ count the
tensors each operation of the implementation saves, and these cases check the count.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.transformers_harness import Case, measure, write_config

TRAIN_LINES = ("weights", "gradients", "optimizer", "activations", "peak")
INFERENCE_LINES = ("weights", "kv_cache", "peak")

CASES = [
    # decoders: GPT-2 (gelu_new, dropout, fused qkv), Llama (GQA), Mistral (window), Qwen2 (tied)
    Case("gpt2", 2, 128),
    Case("gpt2-nodropout", 2, 128),
    Case("gpt2-nodropout", 2, 128, attention="eager"),
    Case("gpt2", 2, 128, amp=True),
    Case("gpt2", 2, 128, ckpt=True),
    Case("llama-gqa", 2, 128),
    Case("llama-gqa", 2, 128, attention="eager"),
    Case("llama-gqa", 2, 128, amp=True),
    Case("llama-gqa", 2, 128, ckpt=True),
    Case("llama-gqa", 1, 256, amp=True, ckpt=True, attention="eager"),
    Case("mistral-window", 2, 128),
    Case("qwen2-tied", 2, 128),
    Case("qwen2-tied", 2, 128, amp=True),
    Case("mixtral", 2, 64),
    Case("mixtral", 2, 64, amp=True),
    # LoRA through PEFT (all-linear, fp32 adapters) over fp32 and bf16 weights
    Case("llama-gqa", 2, 128, lora=8),
    Case("llama-gqa", 2, 128, lora=8, base="bf16"),
    Case("llama-gqa", 2, 128, lora=8, ckpt=True),
    Case("llama-gqa", 2, 128, lora=8, base="bf16", ckpt=True),
    Case("gpt2", 2, 128, lora=8),
    # encoders: BERT (masked LM, classification), ViT
    Case("bert-mlm", 4, 64),
    Case("bert-mlm", 4, 64, attention="eager"),
    Case("bert-cls", 4, 64),
    Case("bert-cls", 4, 64, amp=True),
    Case("vit", 8, 65),
    Case("vit", 8, 65, amp=True),
    # encoder-decoders: T5 (relative buckets, eager), BART
    Case("t5", 2, 64, attention="eager"),
    Case("t5", 2, 64, attention="eager", amp=True),
    Case("t5", 2, 64, attention="eager", ckpt=True),
    Case("bart", 2, 64),
    Case("bart", 2, 64, amp=True),
    Case("bart", 2, 64, ckpt=True),
    # inference: the prefill of a prompt with the KV cache on
    Case("gpt2-nodropout", 1, 400, task="inference", attention="eager"),
    Case("llama-gqa", 2, 256, task="inference"),
    Case("llama-gqa", 2, 256, task="inference", attention="eager"),
    Case("mistral-window", 1, 256, task="inference"),
    Case("bert-cls", 2, 128, task="inference"),
    Case("t5", 2, 128, task="inference", attention="eager"),
    Case("bart", 2, 128, task="inference"),
]


def lines_of(case: Case) -> tuple[str, ...]:
    return INFERENCE_LINES if case.task == "inference" else TRAIN_LINES


def estimate_args(case: Case, config: Path) -> list[str]:
    """`advisor estimate` arguments for the job the case runs."""
    encoder_decoder = case.config()["architectures"][0].endswith("ConditionalGeneration")
    if case.task == "inference":
        task, precision = "inference", "fp32"
    else:
        task = "lora" if case.lora else "train"
        precision = "bf16" if (case.amp or case.base == "bf16") else "fp32"
    args = [str(config), "--task", task, "--precision", precision, "--batch", str(case.batch)]
    if not case.model.startswith("vit"):  # a ViT's sequence is its patches
        args += ["--seq", str(case.seq)]
    if encoder_decoder:  # training targets are half the input; the prefill decodes one token
        args += ["--target-seq", str(case.seq // 2 if case.task == "train" else 1)]
    args += ["--attention", case.attention, "--device", "cpu"]
    if case.ckpt:
        args.append("--grad-checkpointing")
    if case.lora:
        args += ["--lora-rank", str(case.lora)]
    return args


def from_json(memory: dict[str, Any], case: Case) -> dict[str, int]:
    return {line: int(memory[line]) for line in lines_of(case)}


def estimated(case: Case, folder: Path) -> dict[str, int]:
    from typer.testing import CliRunner

    from advisor.cli import app

    config = write_config(case, folder / case.name.replace(" ", "_"))
    result = CliRunner().invoke(app, ["estimate", *estimate_args(case, config), "--json"])
    if result.exit_code != 0:
        raise RuntimeError(f"{case.name}: advisor estimate failed: {result.output}")
    return from_json(json.loads(result.stdout)["result"]["memory"], case)


def main(selected: list[str]) -> int:
    print(f"{'case':<52} {'line':<12} {'estimated':>12} {'measured':>12} {'ratio':>6}")
    worst = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if selected and not any(s in case.name for s in selected):
                continue
            est, got = estimated(case, Path(tmp)), measure(case)
            for line in lines_of(case):
                ratio = est[line] / got[line] if got[line] else 1.0
                worst = max(worst, ratio, 1 / ratio if ratio else 99.0)
                print(f"{case.name:<52} {line:<12} {est[line]:>12,} {got[line]:>12,} {ratio:>6.3f}")
    print(f"worst ratio (either way): {worst:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
