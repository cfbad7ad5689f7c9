"""Real Hugging Face `transformers` models, built from a config.json with random weights and run on
the CPU, with every byte counted: the yardstick for `advisor estimate` on the model code people run.

For a training case, two optimizer steps run (AdamW), so the second one starts with the optimizer
state in place, as every step of a real run does. Step 2 is measured:
- weights, gradients, optimizer state: the exact bytes of the tensors;
- activations: the tensors autograd saves for backward, each storage counted once, parameters and
  buffers excluded (the same rule as benchmarks/memory_harness.py);
- peak: the most bytes alive at once during the step (forward, backward, optimizer.step), from the
  profiler's own allocation timeline (torch.profiler's memory profile: every CPU allocation and
  free), on top of what was alive before the step began.
For an inference case, one forward over the prompt with the KV cache on: the cache's bytes and the
prefill peak.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import transformers

transformers.logging.set_verbosity_error()

# Small configurations of real architectures: the shapes of the real models, shrunk so a CPU runs
# them in a second. Each is a config.json as Hugging Face writes it.
CONFIGS: dict[str, dict[str, Any]] = {
    "gpt2": {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "n_embd": 256,
        "n_layer": 2,
        "n_head": 4,
        "n_positions": 512,
        "vocab_size": 2048,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.1,
        "embd_pdrop": 0.1,
        "attn_pdrop": 0.1,
        "layer_norm_epsilon": 1e-5,
    },
    "gpt2-nodropout": {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "n_embd": 256,
        "n_layer": 2,
        "n_head": 4,
        "n_positions": 512,
        "vocab_size": 2048,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
    },
    "llama-gqa": {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "vocab_size": 2048,
        "max_position_embeddings": 1024,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
    },
    "mistral-window": {
        "architectures": ["MistralForCausalLM"],
        "model_type": "mistral",
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "vocab_size": 2048,
        "max_position_embeddings": 1024,
        "sliding_window": 64,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
    },
    "qwen2-tied": {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "vocab_size": 2048,
        "max_position_embeddings": 1024,
        "hidden_act": "silu",
        "tie_word_embeddings": True,
    },
    "bert-mlm": {
        "architectures": ["BertForMaskedLM"],
        "model_type": "bert",
        "hidden_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 1024,
        "vocab_size": 2048,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
    },
    "bert-cls": {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "hidden_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 1024,
        "vocab_size": 2048,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "num_labels": 3,
    },
    "vit": {
        "architectures": ["ViTForImageClassification"],
        "model_type": "vit",
        "hidden_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 1024,
        "image_size": 64,
        "patch_size": 8,
        "num_channels": 3,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "num_labels": 10,
    },
    "t5": {
        "architectures": ["T5ForConditionalGeneration"],
        "model_type": "t5",
        "d_model": 256,
        "d_ff": 1024,
        "d_kv": 32,
        "num_layers": 2,
        "num_decoder_layers": 2,
        "num_heads": 8,
        "vocab_size": 2048,
        "dropout_rate": 0.1,
        "feed_forward_proj": "relu",
        "relative_attention_num_buckets": 32,
        "decoder_start_token_id": 0,
        "pad_token_id": 0,
    },
    "bart": {
        "architectures": ["BartForConditionalGeneration"],
        "model_type": "bart",
        "d_model": 256,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "encoder_attention_heads": 4,
        "decoder_attention_heads": 4,
        "encoder_ffn_dim": 1024,
        "decoder_ffn_dim": 1024,
        "vocab_size": 2048,
        "max_position_embeddings": 512,
        "activation_function": "gelu",
        "dropout": 0.1,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "decoder_start_token_id": 2,
    },
    "mixtral": {
        "architectures": ["MixtralForCausalLM"],
        "model_type": "mixtral",
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
        "vocab_size": 2048,
        "max_position_embeddings": 1024,
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "router_aux_loss_coef": 0.0,
    },
}


@dataclass(frozen=True)
class Case:
    model: str  # a key of CONFIGS
    batch: int
    seq: int  # tokens per sample (an encoder-decoder's targets are seq // 2)
    task: str = "train"  # train | inference
    attention: str = "sdpa"  # eager | sdpa
    amp: bool = False  # bf16 autocast over fp32 weights
    ckpt: bool = False
    lora: int = 0  # LoRA rank on every Linear (PEFT's all-linear); 0: full training
    base: str = "fp32"  # the weights' dtype: fp32 | bf16 (pure 16-bit, no autocast)
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        bits = [self.model, f"b{self.batch}xs{self.seq}", self.task, self.attention]
        bits += ["bf16-amp"] * self.amp + ["ckpt"] * self.ckpt
        bits += [f"lora{self.lora}"] * bool(self.lora) + ["bf16-weights"] * (self.base == "bf16")
        bits += [f"{k}={v}" for k, v in sorted(self.overrides.items())]
        return " ".join(bits)

    def config(self) -> dict[str, Any]:
        return {**CONFIGS[self.model], **self.overrides}


def write_config(case: Case, folder: Path) -> Path:
    """The case's config.json, as `advisor estimate` reads it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps(case.config(), indent=1))
    return path


def build(case: Case) -> torch.nn.Module:
    cfg = case.config()
    config_cls = transformers.AutoConfig.for_model(cfg["model_type"]).__class__
    config = config_cls(**{k: v for k, v in cfg.items() if k not in ("architectures", "model_type")})
    config._attn_implementation = case.attention
    torch.manual_seed(0)
    model = getattr(transformers, cfg["architectures"][0])(config)
    if case.base == "bf16":
        model = model.to(torch.bfloat16)
    if case.ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if case.lora:
        import peft

        lora = peft.LoraConfig(
            r=case.lora, lora_alpha=2 * case.lora, target_modules="all-linear", lora_dropout=0.0
        )
        model = peft.get_peft_model(model, lora)
    return model


def inputs(case: Case) -> dict[str, torch.Tensor]:
    cfg = case.config()
    g = torch.Generator().manual_seed(1)
    b, s = case.batch, case.seq
    arch = cfg["architectures"][0]
    vocab = cfg.get("vocab_size", 2)
    if arch.startswith("ViT"):
        side = cfg["image_size"]
        pixels = torch.randn(b, cfg["num_channels"], side, side, generator=g)
        if case.task == "inference":
            return {"pixel_values": pixels}
        return {"pixel_values": pixels, "labels": torch.randint(0, cfg["num_labels"], (b,), generator=g)}
    ids = torch.randint(1, vocab, (b, s), generator=g)
    if case.task == "inference":
        return {"input_ids": ids}
    if arch.endswith("SequenceClassification"):
        return {"input_ids": ids, "labels": torch.randint(0, cfg.get("num_labels", 2), (b,), generator=g)}
    if arch.endswith("ConditionalGeneration"):  # encoder-decoder: targets half as long
        return {"input_ids": ids, "labels": torch.randint(3, vocab, (b, s // 2), generator=g)}
    return {"input_ids": ids, "labels": ids}


def _key(t: torch.Tensor) -> tuple[int, int]:
    s = t.untyped_storage()
    return s.data_ptr(), s.nbytes()


def _peak(body: Any) -> int:
    """Most bytes alive at once while ``body()`` runs, above what was alive before it."""
    from torch.profiler import ProfilerActivity, profile
    from torch.profiler._memory_profiler import Action, MemoryProfile

    with profile(
        activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True
    ) as prof:
        body()
    live = peak = 0
    for _, action, _, size in MemoryProfile(prof.profiler.kineto_results).timeline:
        if action == Action.CREATE:
            live += size
        elif action == Action.DESTROY:
            live -= size
        peak = max(peak, live)
    return peak


def measure(case: Case) -> dict[str, int]:
    """Exact bytes of the case: weights, gradients, optimizer, activations, kv_cache, peak."""
    model = build(case)
    params = list({id(p): p for p in model.parameters()}.values())
    weights = sum(p.nbytes for p in params)
    batch = inputs(case)
    if case.task == "inference":
        model.eval()
        out: dict[str, Any] = {}

        arch = case.config()["architectures"][0]
        generative = arch.endswith(("CausalLM", "LMHeadModel", "ConditionalGeneration"))
        # generate() runs the prefill with logits_to_keep=1: only the last position's logits
        extra: dict[str, Any] = {"use_cache": True, "logits_to_keep": 1} if generative else {}
        if arch.endswith("ConditionalGeneration"):  # the encoder reads the prompt; one decoder token
            extra = {"use_cache": True, "decoder_input_ids": batch["input_ids"][:, :1]}

        def prefill() -> None:
            with torch.no_grad():
                out["o"] = model(**batch, **extra)

        peak = _peak(prefill)
        cache = getattr(out["o"], "past_key_values", None) or getattr(out["o"], "cache", None)
        kv = sum(t.nbytes for t in _cache_tensors(cache)) if cache is not None else 0
        return {"weights": weights, "kv_cache": kv, "peak": weights + peak}
    model.train()
    trainable = [p for p in params if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4)
    amp = torch.autocast("cpu", dtype=torch.bfloat16) if case.amp else contextlib.nullcontext()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with amp:
            loss = model(**batch).loss
        loss.backward()
        opt.step()

    step()  # step 1: the optimizer state now exists
    owned = {_key(p) for p in params} | {_key(b) for b in model.buffers()}
    saved: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = _key(t)
        if key not in owned:
            saved[key] = key[1]
        return t

    opt.zero_grad(set_to_none=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), amp:
        loss = model(**batch).loss
    activations = sum(saved.values())
    del loss
    state = sum(v.nbytes for s in opt.state.values() for v in s.values() if torch.is_tensor(v))
    buffers = sum(b.nbytes for b in model.buffers())
    peak = _peak(step)
    grads = sum(p.grad.nbytes for p in trainable if p.grad is not None)
    return {
        "weights": weights,
        "gradients": grads,
        "optimizer": state,
        "activations": activations,
        "peak": weights + state + buffers + peak,
    }


def _cache_tensors(cache: Any) -> list[torch.Tensor]:
    """Every tensor a transformers Cache (or a legacy tuple of tuples) holds."""
    if hasattr(cache, "layers"):
        out = []
        for layer in cache.layers:
            out += [
                t
                for t in (getattr(layer, "keys", None), getattr(layer, "values", None))
                if torch.is_tensor(t)
            ]
        return out
    if hasattr(cache, "self_attention_cache"):  # encoder-decoder
        return _cache_tensors(cache.self_attention_cache) + _cache_tensors(cache.cross_attention_cache)
    return [t for layer in cache for t in layer if torch.is_tensor(t)]
