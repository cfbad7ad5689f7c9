"""`advisor estimate` on the real Hugging Face `transformers` classes, byte for byte.

Each case of benchmarks/estimate_vs_transformers.py builds a small random-init model of a real
class from its config.json, runs it on the CPU and counts every byte; the estimate for the same
config.json comes through the CLI (`--device cpu`). Every line and the step's peak must be within
10%. The parameter counts are checked at the real models' sizes on the meta device (no memory).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli, one_error_line

NEEDS = ("torch", "transformers", "peft")
missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
needs_transformers = pytest.mark.skipif(
    bool(missing), reason=f"needs {', '.join(missing)} (the README's test command installs them)"
)


def _cases() -> list[Any]:
    if missing:
        return []
    from benchmarks.estimate_vs_transformers import CASES

    return list(CASES)


@needs_transformers
@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.name)
def test_estimate_matches_the_real_class(case: Any, cli: Cli, tmp_path: Path) -> None:
    from benchmarks.estimate_vs_transformers import estimate_args, from_json, lines_of
    from benchmarks.transformers_harness import measure, write_config

    config = write_config(case, tmp_path / "model")
    estimated = from_json(cli.json("estimate", *estimate_args(case, config))["result"]["memory"], case)
    measured = measure(case)
    for line in lines_of(case):
        assert estimated[line] == pytest.approx(measured[line], rel=0.10), (line, estimated, measured)


# Real sizes, from the models' published config.json files (the presets cite them).
REAL_CONFIGS: dict[str, dict[str, Any]] = {
    "gpt2": {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"},
    "bert-base-uncased": {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    },
    "bert-base-mlm": {
        "architectures": ["BertForMaskedLM"],
        "model_type": "bert",
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    },
    "vit-base-patch16-224": {
        "architectures": ["ViTForImageClassification"],
        "model_type": "vit",
        "num_labels": 1000,
    },
    "t5-small": {
        "architectures": ["T5ForConditionalGeneration"],
        "model_type": "t5",
        "d_model": 512,
        "d_ff": 2048,
        "d_kv": 64,
        "num_layers": 6,
        "num_heads": 8,
        "vocab_size": 32128,
    },
    "flan-t5-base-shape": {  # gated-gelu, as flan-t5 (tied here: transformers 5 always ties T5)
        "architectures": ["T5ForConditionalGeneration"],
        "model_type": "t5",
        "d_model": 768,
        "d_ff": 2048,
        "d_kv": 64,
        "num_layers": 12,
        "num_heads": 12,
        "vocab_size": 32128,
        "feed_forward_proj": "gated-gelu",
    },
    "bart-base": {
        "architectures": ["BartForConditionalGeneration"],
        "model_type": "bart",
        "d_model": 768,
        "encoder_layers": 6,
        "decoder_layers": 6,
        "encoder_attention_heads": 12,
        "decoder_attention_heads": 12,
        "encoder_ffn_dim": 3072,
        "decoder_ffn_dim": 3072,
        "vocab_size": 50265,
        "max_position_embeddings": 1024,
    },
    "llama-2-7b": {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 32,
        "vocab_size": 32000,
        "max_position_embeddings": 4096,
    },
    "mistral-7b": {
        "architectures": ["MistralForCausalLM"],
        "model_type": "mistral",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 32000,
        "sliding_window": 4096,
    },
    "qwen2.5-7b": {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "vocab_size": 152064,
        "tie_word_embeddings": False,
    },
    "mixtral-8x7b": {
        "architectures": ["MixtralForCausalLM"],
        "model_type": "mixtral",
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "num_local_experts": 8,
        "num_experts_per_tok": 2,
        "vocab_size": 32000,
    },
}


def _hf_params(cfg: dict[str, Any]) -> int:
    """Distinct parameters of the real class, built on the meta device."""
    import torch
    import transformers

    config_cls = transformers.AutoConfig.for_model(cfg["model_type"]).__class__
    config = config_cls(**{k: v for k, v in cfg.items() if k not in ("architectures", "model_type")})
    with torch.device("meta"):
        model = getattr(transformers, cfg["architectures"][0])(config)
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


@needs_transformers
@pytest.mark.parametrize("name", sorted(REAL_CONFIGS))
def test_config_json_params_are_the_class_count(name: str, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / name / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(REAL_CONFIGS[name]))
    model = cli.json("estimate", str(path), "--task", "inference")["result"]["model"]
    assert model["params"] == _hf_params(REAL_CONFIGS[name])


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"model_type": "mystery", "hidden_size": 8}, "not a transformer config advisor understands"),
        ({"model_type": "llama", "architectures": ["LlamaForSequenceClassification"]}, "is not supported"),
        ({"model_type": "t5", "feed_forward_proj": "gated-silu"}, "feed_forward_proj 'gated-silu'"),
        ({"model_type": "vit", "num_channels": 1}, "over 1 channels is not supported"),
        ({"model_type": "bart", "encoder_ffn_dim": 4096, "decoder_ffn_dim": 2048}, "decoder_ffn_dim differ"),
        ({"model_type": "gpt2", "activation_function": "mish"}, "activation 'mish'"),
        ({"model_type": "llama", "hidden_size": 64}, "the config has no"),
    ],
)
def test_unsupported_configs_are_refused_in_one_line(
    config: dict[str, Any], words: str, cli: Cli, tmp_path: Path
) -> None:
    base = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
    if config.get("model_type") == "llama" and "architectures" in config:
        config = {**base, "vocab_size": 100, **config}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert words in one_error_line(cli("estimate", str(path)))


def _memory(cli: Cli, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = cli.json("estimate", *args)["result"]["memory"]
    return result


def test_kv_cache_follows_the_precision(cli: Cli) -> None:
    def kv(precision: str) -> int:
        return int(_memory(cli, "llama-3.1-8b", "--task", "inference", "--precision", precision)["kv_cache"])

    assert kv("fp32") == 2 * kv("bf16")
    assert kv("int4") == kv("fp16") == kv("bf16")  # quantized weights compute (and cache) in 16 bits


def test_tensor_parallel_inference_splits_the_working_set(cli: Cli) -> None:
    one = _memory(cli, "llama-2-70b", "--task", "inference", "--precision", "fp16", "--batch", "8")
    two = _memory(
        cli, "llama-2-70b", "--task", "inference", "--precision", "fp16", "--batch", "8", "--gpus", "2"
    )
    assert two["activations"] == one["activations"] // 2
    assert two["kv_cache"] == one["kv_cache"] // 2


def test_eager_prefill_holds_the_scores(cli: Cli) -> None:
    args = ("gpt2", "--task", "inference", "--precision", "fp32", "--seq", "1024", "--batch", "4")
    eager = _memory(cli, *args, "--attention", "eager")["activations"]
    fused = _memory(cli, *args, "--attention", "sdpa")["activations"]
    scores = 4 * 4 * 12 * 1024 * 1024  # one layer's b x heads x s x s fp32 probabilities
    assert eager - fused >= scores


def test_the_peak_names_its_phase(cli: Cli) -> None:
    big_logits = _memory(cli, "llama-2-7b", "--task", "finetune", "--batch", "8", "--seq", "2048")
    assert big_logits["phase"] == "backward start"
    small = _memory(cli, "llama-2-7b", "--task", "finetune", "--batch", "1", "--seq", "64")
    assert small["phase"] == "optimizer step"
    ckpt = _memory(cli, "llama-2-7b", "--task", "finetune", "--seq", "4096", "--grad-checkpointing")
    assert ckpt["phase"] in ("block recompute", "optimizer step")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["gpt2", "--target-seq", "64"], "--target-seq is the decoder's length"),
        (["resnet-50", "--grad-checkpointing"], "--grad-checkpointing is modelled for transformer"),
        (["gpt2", "--device", "tpu"], "--device"),
    ],
)
def test_job_options_that_do_not_apply_are_refused(args: list[str], words: str, cli: Cli) -> None:
    assert words in one_error_line(cli("estimate", *args))


def test_encoder_decoder_caches_the_target_and_the_input(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(REAL_CONFIGS["t5-small"]))
    args = (str(path), "--task", "inference", "--precision", "bf16", "--seq", "512")
    memory = _memory(cli, *args, "--target-seq", "128")
    assert memory["kv_cache"] == 2 * 6 * 8 * 64 * (128 + 512) * 2  # self and cross attention
    kv_line = next(line for line in memory["lines"] if line["name"] == "kv_cache")
    assert "(128 target + 512 input) tokens" in kv_line["how"]
    assert "512 -> 128" in cli("estimate", *args, "--target-seq", "128").stdout
