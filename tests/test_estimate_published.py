"""`advisor estimate` against figures other people published, each with its source.

None of these figures was used to build the estimate (its recipes count what the implementation
saves: tests/test_estimate_transformers.py); they are checked here after the fact. Units are as
published: LitGPT's "GB" is 1e9 bytes of torch.cuda.max_memory_allocated (advisor's `peak`); the
HF docs' "MB" is MiB of device-wide NVML memory (context and allocator cache included). Notes on
each source: ../shared/research/issue13-published-figures.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cli

GB, MIB = 1e9, 2**20


def _estimate(cli: Cli, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = cli.json("estimate", *args)["result"]
    return result


# LitGPT resource tables, single-GPU inference: A100-SXM4-40GB, --precision bf16-true, batch 1, the
# default prompt ("What food do llamas eat?") and 50 new tokens: about 64 tokens of context.
# https://github.com/Lightning-AI/litgpt/blob/b73298666d31691e0c639d3f47b0d0829ba44dab/tutorials/resource-tables.md
LITGPT_INFERENCE = [
    ("llama-2-7b", "bf16", 13.52),
    ("llama-2-13b", "bf16", 26.21),
    ("llama-2-7b", "int4", 4.26),  # bnb.nf4-dq
    ("llama-2-13b", "int4", 7.72),  # bnb.nf4-dq
]


@pytest.mark.parametrize(("model", "precision", "published_gb"), LITGPT_INFERENCE)
def test_litgpt_inference_peaks(model: str, precision: str, published_gb: float, cli: Cli) -> None:
    r = _estimate(cli, model, "--task", "inference", "--precision", precision, "--seq", "64")
    # advisor's int4 is a generic 4-bit format (0.53 B/param); nf4 with double quantization is 0.52
    tolerance = 0.03 if precision == "bf16" else 0.10
    assert r["memory"]["peak"] / GB == pytest.approx(published_gb, rel=tolerance)


# The QLoRA paper: "finetune a 65B parameter model on a single 48GB GPU" (arXiv 2305.14314,
# abstract). Its job, from artidoro/qlora scripts/finetune_guanaco_65b.sh @ 86ac6016: LLaMA-65B,
# --bits 4 --quant_type nf4 --double_quant --bf16, --lora_r 64 --lora_modules all (every Linear but
# lm_head), --gradient_checkpointing, --source_max_len 16 --target_max_len 512 (<= 528 tokens),
# per-device batch 1 x 16 accumulation (the README: any split whose product is 16), the default
# optimizer paged_adamw_32bit; qlora.py casts the LoRA layers to bf16.
@pytest.mark.parametrize("batch", ["1", "4"])
def test_qlora_65b_fits_one_48gb_gpu(batch: str, cli: Cli) -> None:
    r = _estimate(
        cli,
        "llama-65b",
        "--task",
        "qlora",
        "--precision",
        "bf16",
        "--lora-rank",
        "64",
        "--grad-checkpointing",
        "--batch",
        batch,
        "--seq",
        "528",
        "--card",
        "rtx a6000",
    )
    assert r["fit"]["fits"], r["memory"]
    assert r["memory"]["trainable_params"] == 64 * 80 * (4 * 2 * 8192 + 3 * (8192 + 22016))


def test_16bit_finetuning_of_65b_needs_more_than_780gb(cli: Cli) -> None:
    # "regular 16-bit finetuning of a LLaMA 65B parameter model requires more than 780 GB of GPU
    # memory" (arXiv 2305.14314, section 1)
    r = _estimate(cli, "llama-65b", "--task", "finetune", "--precision", "bf16", "--seq", "512")
    assert r["memory"]["total"] > 780 * GB


# vLLM's KV cache: 2 (K, V) x layers x KV heads x head size x dtype bytes per token
# (vllm/worker/cache_engine.py @ 60b652b7, get_cache_block_size); the PagedAttention paper
# (arXiv 2309.06180, section 3): "for the 13B parameter OPT model, the KV cache of a single token
# demands 800 KB of space, calculated as 2 x 5120 x 40 x 2 ... as much as 1.6 GB" for 2048 tokens.
# Llama-2-13B has OPT-13B's shape for this purpose: 40 layers of 40 heads x 128, no grouped heads.
def test_kv_bytes_per_token_as_vllm_counts_them(cli: Cli) -> None:
    r = _estimate(cli, "llama-2-13b", "--task", "inference", "--precision", "fp16", "--seq", "2048")
    assert r["memory"]["kv_cache"] == 2048 * 2 * 5120 * 40 * 2 == 2048 * 800 * 1024
    gqa = _estimate(cli, "llama-3.1-8b", "--task", "inference", "--precision", "bf16", "--seq", "1")
    assert gqa["memory"]["kv_cache"] == 2 * 32 * 8 * 128 * 2  # 8 KV heads of 32


# Hugging Face, "Model training anatomy" (docs/source/en/model_memory_anatomy.md @ 7d5e65fe):
# bert-large-uncased (AutoModelForSequenceClassification), V100 16 GB, fp32, Trainer defaults
# (eager attention, dropout 0.1, AdamW), batch 4 x 512 tokens. NVML "used" memory, in MiB:
# 1343 with only the CUDA context, 2631 with the model loaded, 14949 after training.
CONTEXT_MIB, LOADED_MIB, TRAINED_MIB = 1343, 2631, 14949


def test_hf_anatomy_bert_large(cli: Cli) -> None:
    r = _estimate(
        cli,
        "bert-large-uncased",
        "--task",
        "finetune",
        "--precision",
        "fp32",
        "--batch",
        "4",
        "--seq",
        "512",
        "--attention",
        "eager",
        "--card",
        "v100 sxm2 16",
    )
    memory = r["memory"]
    assert memory["weights"] / MIB == pytest.approx(LOADED_MIB - CONTEXT_MIB, rel=0.02)
    # NVML counts what the caching allocator reserved, which is at least the live tensors' peak and
    # typically well above it; advisor's peak must sit below it, and not far below.
    reserved = (TRAINED_MIB - CONTEXT_MIB) * MIB
    assert 0.7 * reserved < memory["peak"] < reserved
    assert r["fit"]["fits"]  # it ran on the 16 GB card
