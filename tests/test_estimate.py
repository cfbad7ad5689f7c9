"""`advisor estimate` through the CLI: presets, known answers, speed against published runs, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.errors import AdvisorError
from advisor.estimate.job import Job
from advisor.estimate.report import estimate
from advisor.knowledge.cards import load_cards
from advisor.knowledge.match import find_card
from advisor.knowledge.models import load_models, model_from_size, parse_size, resolve_model
from tests.conftest import Cli, one_error_line

GIB = 1024**3
CARDS = load_cards(include_user_config=False).cards

PRESETS = [
    "gpt2",
    "gpt2-medium",
    "gpt2-large",
    "gpt2-xl",
    "bert-base-uncased",
    "bert-large-uncased",
    "llama-2-7b",
    "llama-2-13b",
    "llama-2-70b",
    "llama-3.1-8b",
    "llama-3.1-70b",
    "mistral-7b-v0.1",
    "mixtral-8x7b-v0.1",
    "qwen2.5-7b",
    "phi-3-mini-4k-instruct",
    "resnet-50",
    "vit-b-16",
    "sd15-unet",
]


def est(cli: Cli, *args: str, code: int = 0) -> dict[str, Any]:
    return cli.json("estimate", *args, code=code)["result"]


def test_every_preset_is_there_and_sourced() -> None:
    names = {m.name for m in load_models()}
    assert set(PRESETS) <= names
    for m in load_models():
        assert m.sources and all(s.startswith("https://") for s in m.sources), m.name


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_estimates(name: str, cli: Cli) -> None:
    r = est(cli, name, "--card", "h100 sxm")
    memory = r["memory"]
    assert set(memory) >= {
        "weights",
        "gradients",
        "optimizer",
        "activations",
        "kv_cache",
        "overhead",
        "total",
    }
    # the total is the peak (the lines alive at that moment) plus the overhead
    at_peak = sum(line["bytes"] for line in memory["lines"] if line["at_peak"] and line["name"] != "overhead")
    assert memory["peak"] == at_peak
    assert memory["total"] == memory["peak"] + memory["overhead"]
    assert memory["phase"] in ("backward start", "optimizer step", "block recompute", "prefill")
    # H100 is bandwidth-poor for its FLOPS; convolutional networks more so (fitted on ResNet-50)
    low, high = (0.03, 0.2) if r["model"]["kind"] in ("cnn", "unet") else (0.2, 0.4)
    assert low < r["speed"]["utilization"] < high


def test_mixtral_counts_active_experts_for_speed() -> None:
    mix = resolve_model("mixtral-8x7b-v0.1")
    assert mix.active_params is not None and mix.active_params < mix.params / 3


# The bar: jobs whose answer is known.
def test_7b_lora_bf16_with_checkpointing_fits_24gb(cli: Cli) -> None:
    r = est(
        cli,
        "llama-2-7b",
        "--task",
        "lora",
        "--precision",
        "bf16",
        "--batch",
        "1",
        "--seq",
        "512",
        "--grad-checkpointing",
        "--card",
        "3090",
    )
    assert r["fit"]["fits"] is True


def test_7b_full_finetune_does_not_fit_80gb(cli: Cli) -> None:
    r = est(cli, "llama-2-7b", "--task", "finetune", "--precision", "bf16", "--card", "a100 sxm4 80")
    assert r["fit"]["fits"] is False
    assert r["memory"]["weights"] + r["memory"]["gradients"] + r["memory"]["optimizer"] == 16 * 6738415616


def test_70b_fp16_inference_needs_two_80gb_cards(cli: Cli) -> None:
    one = est(cli, "llama-2-70b", "--task", "inference", "--precision", "fp16", "--card", "h100 sxm")
    two = est(
        cli, "llama-2-70b", "--task", "inference", "--precision", "fp16", "--card", "h100 sxm", "--gpus", "2"
    )
    assert one["fit"]["fits"] is False and two["fit"]["fits"] is True


def test_qlora_70b_fits_one_80gb_card(cli: Cli) -> None:
    r = est(
        cli,
        "llama-2-70b",
        "--task",
        "qlora",
        "--grad-checkpointing",
        "--seq",
        "512",
        "--card",
        "a100 sxm4 80",
    )
    assert r["fit"]["fits"] is True
    assert 0.5 < r["memory"]["weights"] / 68976648192 < 0.6  # about 4.1 bits per parameter


def test_zero3_shards_everything(cli: Cli) -> None:
    one = est(cli, "llama-2-13b", "--task", "finetune")["memory"]
    eight = est(cli, "llama-2-13b", "--task", "finetune", "--gpus", "8", "--sharding", "zero3")["memory"]
    for line in ("weights", "gradients", "optimizer"):
        assert eight[line] == pytest.approx(one[line] / 8, rel=0.001)
    assert eight["activations"] == one["activations"]


def test_checkpointing_and_fused_attention_save_memory(cli: Cli) -> None:
    base = est(cli, "gpt2", "--task", "train", "--attention", "eager", "--batch", "8")["memory"]
    sdpa = est(cli, "gpt2", "--task", "train", "--batch", "8")["memory"]
    ckpt = est(cli, "gpt2", "--task", "train", "--batch", "8", "--grad-checkpointing")["memory"]
    assert base["activations"] > sdpa["activations"] > ckpt["activations"]


# Speed against published training runs: Llama 2 (arXiv 2307.09288, Table 2) trained on 2.0T
# tokens with 4k context on A100-80GB: 184,320 / 368,640 / 1,720,320 GPU-hours for 7B/13B/70B.
@pytest.mark.parametrize(
    ("name", "gpu_hours"), [("llama-2-7b", 184_320), ("llama-2-13b", 368_640), ("llama-2-70b", 1_720_320)]
)
def test_speed_agrees_with_llama2_training(name: str, gpu_hours: int) -> None:
    published = 2.0e12 / (gpu_hours * 3600)  # tokens per second per GPU
    r = estimate(
        resolve_model(name), Job(task="train", precision="bf16", seq=4096), find_card("a100 sxm4 80", CARDS)
    )
    assert r.speed is not None and r.speed.tokens_per_second is not None
    assert r.speed.tokens_per_second == pytest.approx(published, rel=0.15)


def test_output_names_the_utilization_assumed(cli: Cli) -> None:
    out = cli("estimate", "llama-2-7b", "--card", "a100 sxm4 80")
    assert out.exit_code == 0
    assert "assumes 40% of 312 TFLOPS bf16 peak" in out.stdout
    calibrated = est(cli, "llama-2-7b", "--card", "a100 sxm4 80", "--mfu", "0.5")
    assert calibrated["speed"]["utilization_source"] == "--mfu"


def test_inference_splits_prefill_and_decode(cli: Cli) -> None:
    s = est(cli, "llama-2-7b", "--task", "inference", "--precision", "fp16", "--card", "4090")["speed"]
    # decode is bandwidth bound: about bandwidth / weight bytes tokens per second
    assert 30 < s["decode_tokens_per_second"] < 1008e9 / 13.4e9
    assert s["prefill_tokens_per_second"] > 50 * s["decode_tokens_per_second"]


def test_v100_has_no_bf16(cli: Cli) -> None:
    r = est(cli, "gpt2", "--card", "v100 sxm2 16")
    assert "no bf16 tensor cores" in r["speed"]["unavailable"]


def test_hf_config_json(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {  # Llama-2-7b-hf's config.json fields
                "model_type": "llama",
                "hidden_size": 4096,
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "num_key_value_heads": 32,
                "intermediate_size": 11008,
                "hidden_act": "silu",
                "vocab_size": 32000,
                "max_position_embeddings": 4096,
                "tie_word_embeddings": False,
            }
        )
    )
    r = est(cli, str(config))
    assert r["model"]["params"] == pytest.approx(6738415616, rel=0.001)
    assert est(cli, str(tmp_path))["model"]["params"] == r["model"]["params"]  # a folder works too


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["llama-2-7x"], "unknown model 'llama-2-7x'; did you mean"),
        (["--", "-7B"], "not a model size"),
        (["7Q"], "not a model size"),
        (["1e30"], "out of range"),
        (["0"], "out of range"),
        (["llama-2-7b", "--task", "qlora", "--precision", "fp32"], "QLoRA computes in 16-bit"),
        (["llama-2-7b", "--sharding", "zero3"], "needs --gpus 2"),
        (["llama-2-7b", "--task", "finetune", "--precision", "int4"], "use --task qlora"),
        (["llama-2-7b", "--task", "dance"], "--task"),
        (["llama-2-7b", "--batch", "0"], "--batch"),
        (["llama-2-7b", "--card", "rtx 9090"], "no card matches"),
        (["llama-2-7b", "--mfu", "3"], "--mfu must be between 0 and 1"),
        (["/no/such/config.json"], "no such file"),
        (["resnet-50", "--task", "lora"], "lora is for transformer models"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], words: str, cli: Cli) -> None:
    assert words in one_error_line(cli("estimate", *args))


def test_bad_config_json(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text("{nope")
    assert "not JSON" in one_error_line(cli("estimate", str(bad)))
    bad.write_text(json.dumps({"model_type": "mystery"}))
    assert "not a transformer config" in one_error_line(cli("estimate", str(bad)))


def test_models_command(cli: Cli) -> None:
    listed = cli.json("models")["result"]
    assert {m["name"] for m in listed} >= set(PRESETS)
    assert "llama-2-7b" in cli("models").stdout


# Property-based: the size parser and the estimator's monotonicity.
@given(st.floats(min_value=1.0, max_value=999.0), st.sampled_from(["K", "M", "B", "T", "k", "b"]))
def test_sizes_parse(value: float, unit: str) -> None:
    text = f"{value:g}{unit}"
    scale = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[unit.lower()]
    want = value * scale
    if 1e3 <= want <= 1e13:
        assert parse_size(text) == int(float(f"{value:g}") * scale)
    else:
        with pytest.raises(AdvisorError):
            parse_size(text)


@given(st.text(alphabet="abcxyzQ-_ .", min_size=1, max_size=6))
def test_non_sizes_are_not_sizes(text: str) -> None:
    if not any(ch.isdigit() for ch in text):
        assert parse_size(text) is None


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["gpt2", "llama-2-7b", "mixtral-8x7b-v0.1", "bert-base-uncased"]),
    st.sampled_from(["train", "finetune", "lora", "qlora", "inference"]),
    st.integers(min_value=1, max_value=64),
    st.integers(min_value=16, max_value=4096),
    st.booleans(),
)
def test_more_batch_or_longer_sequences_never_need_less(
    name: str, task: str, batch: int, seq: int, ckpt: bool
) -> None:
    model = resolve_model(name)
    ckpt = ckpt and task != "inference"

    def total(b: int, s: int) -> int:
        job = Job(task=task, batch=b, seq=s, grad_checkpointing=ckpt)  # type: ignore[arg-type]
        return estimate(model, job).memory.total

    assert total(batch + 1, seq) >= total(batch, seq)
    assert total(batch, seq + 1) >= total(batch, seq)


def test_scaled_sizes_match_their_parameter_count() -> None:
    for text in ("125M", "1.3B", "7B", "70B"):
        m = model_from_size(parse_size(text) or 0)
        assert m.params == parse_size(text)
        assert m.hidden_size is not None and m.hidden_size % 128 == 0


def test_flash_is_fused_attention(cli: Cli) -> None:
    flash = est(cli, "gpt2", "--task", "train", "--attention", "flash")["memory"]
    sdpa = est(cli, "gpt2", "--task", "train", "--attention", "sdpa")["memory"]
    assert flash == sdpa
