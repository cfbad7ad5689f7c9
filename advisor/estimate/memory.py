"""How many bytes a job needs per GPU, line by line (pure).

Every figure is derived from what PyTorch actually keeps, checked against real PyTorch by
tests/test_estimate_accuracy.py (benchmarks/estimate_vs_measured.py prints the comparison):

- AMP (torch.autocast) keeps fp32 weights and fp32 gradients; there is no separate master copy,
  so mixed precision costs the same 16 bytes/parameter with AdamW as the "fp16 + fp32 master"
  accounting. Autocast saves 16-bit copies of every matmul weight for backward (cached once per
  forward) and a 16-bit copy of each matmul input *per Linear that consumes it*.
- The residual stream and the norm inputs stay fp32 under autocast; LayerNorm saves its input,
  RMSNorm (composite) its input and the normalized tensor.
- Fused attention (SDPA/flash) saves its output and a log-sum-exp per head instead of the
  s x s score matrices that eager attention keeps.
- Cross-entropy over the vocabulary saves an fp32 log-softmax of b·s·V.
- Activation checkpointing of every block keeps each block's input, plus one block's full
  activations while backward recomputes it.
"""

from __future__ import annotations

import math
from itertools import pairwise

from pydantic import BaseModel, ConfigDict

from advisor.estimate.job import Job
from advisor.knowledge.models import ModelSpec

GIB = 1024**3
CUDA_CONTEXT_BYTES = 512 * 1024**2  # CUDA context + cuBLAS/cuDNN workspaces, typical (assumed)
ALLOCATOR_SLACK = 0.05  # caching-allocator fragmentation over the live tensors (assumed)
USABLE_FRACTION = 0.93  # of the marketed memory: driver reserve plus a safety margin

WEIGHT_BYTES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0, "int4": 0.53}
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4-bit + double-quantized block constants (QLoRA)
OPTIMIZER_BYTES = {"adamw": 8.0, "adam": 8.0, "sgd": 4.0, "adam8bit": 2.0}


class MemoryLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    bytes: int
    how: str


class MemoryEstimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    weights: int
    gradients: int
    optimizer: int
    activations: int
    kv_cache: int
    overhead: int
    total: int
    optimizer_step_extra: int  # transient during optimizer.step() (foreach AdamW), not in total
    lines: list[MemoryLine]
    trainable_params: int
    notes: list[str]


def estimate_memory(model: ModelSpec, job: Job, seq: int) -> MemoryEstimate:
    notes: list[str] = []
    shard = job.gpus if job.sharding != "none" else 1
    trainable = _trainable(model, job)
    weights, weights_how = _weights(model, job, trainable)
    if job.sharding == "zero3":
        weights //= shard
    elif job.task == "inference" and job.gpus > 1:
        weights //= job.gpus
        weights_how += f", split over {job.gpus} GPUs"
    grads = 4 * trainable if job.training else 0
    if job.sharding in ("zero2", "zero3"):
        grads //= shard
    opt_bytes = _optimizer(model, job, trainable)
    if job.sharding != "none":
        opt_bytes //= shard
    acts, acts_how = activations(model, job, seq, notes)
    kv = kv_cache(model, job, seq) if job.task == "inference" else 0
    if kv and job.gpus > 1:
        kv //= job.gpus
    live = weights + grads + opt_bytes + acts + kv
    overhead = 0 if job.device == "cpu" else CUDA_CONTEXT_BYTES + int(ALLOCATOR_SLACK * live)
    step_extra = 4 * trainable // shard if job.training and job.optimizer in ("adamw", "adam") else 0
    if job.mixed and job.task in ("train", "finetune"):
        notes.append(
            "mixed precision (torch.autocast): fp32 weights and gradients; no separate master copy is needed"
        )
    if job.sharding != "none":
        notes.append(
            f"{job.sharding} shards over {job.gpus} GPUs: "
            + {
                "zero1": "optimizer states",
                "zero2": "optimizer states and gradients",
                "zero3": "optimizer states, gradients and weights (FSDP)",
            }[job.sharding]
        )
    lines = [
        MemoryLine(name="weights", bytes=weights, how=weights_how),
        MemoryLine(name="gradients", bytes=grads, how=_grads_how(job, trainable)),
        MemoryLine(name="optimizer", bytes=opt_bytes, how=_optimizer_how(job)),
        MemoryLine(name="activations", bytes=acts, how=acts_how),
        MemoryLine(name="kv_cache", bytes=kv, how=_kv_how(model, job, seq) if kv else "-"),
        MemoryLine(
            name="overhead",
            bytes=overhead,
            how="CUDA context ~0.5 GiB + 5% allocator slack (assumed)" if overhead else "none on the CPU",
        ),
    ]
    total = live + overhead
    return MemoryEstimate(
        weights=weights,
        gradients=grads,
        optimizer=opt_bytes,
        activations=acts,
        kv_cache=kv,
        overhead=overhead,
        total=total,
        optimizer_step_extra=step_extra,
        lines=lines,
        trainable_params=trainable,
        notes=notes,
    )


# --- parameters ----------------------------------------------------------------------------------


def matrices(model: ModelSpec) -> list[tuple[int, int, int]]:
    """(in, out, count) of every Linear in the blocks, for LoRA and Adafactor."""
    if not model.is_transformer:
        return []
    h, a, kv, hd = model.hidden_size or 0, model.num_attention_heads or 1, model.kv_heads, model.head_size
    i, layers = model.intermediate_size or 0, model.num_layers or 0
    experts = model.num_experts or 1
    mats = [(h, a * hd, layers), (h, kv * hd, 2 * layers), (a * hd, h, layers)]
    if model.mlp == "swiglu":
        mats += [(h, i, 2 * layers * experts), (i, h, layers * experts)]
    else:
        mats += [(h, i, layers * experts), (i, h, layers * experts)]
    return mats


def lora_params(model: ModelSpec, rank: int) -> int:
    return sum(rank * (fan_in + fan_out) * n for fan_in, fan_out, n in matrices(model))


def _embedding_params(model: ModelSpec) -> int:
    h, v = model.hidden_size or 0, model.vocab_size or 0
    return v * h * (1 if model.tie_embeddings else 2)


def _trainable(model: ModelSpec, job: Job) -> int:
    if job.task in ("lora", "qlora"):
        return lora_params(model, job.lora_rank)
    return model.params if job.training else 0


def _weights(model: ModelSpec, job: Job, trainable: int) -> tuple[int, str]:
    n = model.params
    if job.task in ("train", "finetune"):
        return 4 * n, f"{n:,} params x 4 B (fp32{', kept by autocast' if job.mixed else ''})"
    if job.task == "lora":
        base = WEIGHT_BYTES[job.precision]
        return int(base * n) + 4 * trainable, (
            f"{n:,} frozen params x {base:g} B ({job.precision}) + {trainable:,} LoRA params "
            f"(rank {job.lora_rank}) x 4 B"
        )
    embed = _embedding_params(model)
    if job.task == "qlora":
        return int(NF4_BYTES * (n - embed) + 2 * embed) + 4 * trainable, (
            f"{n - embed:,} params in NF4 ({NF4_BYTES:.3f} B with quantization constants) + "
            f"{embed:,} embedding params x 2 B + {trainable:,} LoRA params x 4 B"
        )
    per = WEIGHT_BYTES[job.precision]
    if job.precision in ("int8", "int4"):  # embeddings and the LM head stay 16-bit
        return int(per * (n - embed) + 2 * embed), (
            f"{n - embed:,} params x {per:g} B ({job.precision}) + {embed:,} embedding params x 2 B"
        )
    return int(per * n), f"{n:,} params x {per:g} B ({job.precision})"


def _grads_how(job: Job, trainable: int) -> str:
    if not job.training:
        return "-"
    return f"{trainable:,} trainable params x 4 B (fp32)"


def _optimizer(model: ModelSpec, job: Job, trainable: int) -> int:
    if not job.training:
        return 0
    if job.optimizer == "adafactor":
        if job.task in ("lora", "qlora"):
            return 4 * trainable // 8  # factored rows + columns of the thin adapter matrices
        factored = sum(4 * (fan_in + fan_out) * n for fan_in, fan_out, n in matrices(model))
        rest = model.params - sum(fan_in * fan_out * n for fan_in, fan_out, n in matrices(model))
        return factored + 4 * max(rest, 0) // max(model.hidden_size or 1, 1)
    return int(OPTIMIZER_BYTES[job.optimizer] * trainable)


def _optimizer_how(job: Job) -> str:
    if not job.training:
        return "-"
    return {
        "adamw": "AdamW: exp_avg + exp_avg_sq, 2 x 4 B per trainable param",
        "adam": "Adam: exp_avg + exp_avg_sq, 2 x 4 B per trainable param",
        "sgd": "SGD with momentum: 4 B per trainable param",
        "adam8bit": "8-bit Adam (bitsandbytes): 2 x 1 B per trainable param",
        "adafactor": "Adafactor: factored second moment, row + column vectors per matrix",
    }[job.optimizer]


# --- activations ---------------------------------------------------------------------------------


def activations(model: ModelSpec, job: Job, seq: int, notes: list[str]) -> tuple[int, str]:
    b = job.batch
    if model.kind == "mlp":
        return _mlp_activations(model, b), "inputs of each Linear + log-softmax, fp32"
    if model.kind in ("cnn", "unet") and model.channels:
        return _cnn_activations(model, b, job.mixed), "conv outputs and ReLU outputs per block"
    if not model.is_transformer:
        per = model.activation_mib_per_sample or 0.0
        scale = 0.6 if job.mixed else 1.0
        notes.append(
            f"{model.display_name}: activations use a planning figure of {per:g} MiB per "
            "sample (not measured; mixed precision assumed to keep 60%)"
        )
        if not job.training:
            scale *= 0.1  # inference keeps only the live feature maps
        return int(per * 1024**2 * b * scale), f"{per:g} MiB per sample x {b} (approximate)"
    if job.task == "inference":
        return _inference_working_set(model, job, seq), "one layer's working set + last logits"
    per_layer, extras, weight_copies = _transformer_parts(model, job, seq)
    layers = model.num_layers or 0
    tokens = b * seq
    if job.grad_checkpointing:
        residual = 4 if job.task in ("train", "finetune") or job.precision == "fp32" else 2
        kept = layers * tokens * residual * (model.hidden_size or 0)
        total = kept + extras + per_layer + weight_copies // max(layers, 1)
        return total, (
            f"checkpointed: {layers} block inputs + one block recomputed + model-level ({_short(total)})"
        )
    total = layers * per_layer + extras + weight_copies
    how = f"{layers} layers x {_short(per_layer)} + model-level {_short(extras)}"
    if weight_copies:
        how += f" + 16-bit weight copies {_short(weight_copies)}"
    if job.attention == "eager":
        notes.append(
            "eager attention keeps the s x s score matrices of every layer; "
            "--attention sdpa (fused/flash) does not"
        )
    return total, how


def _transformer_parts(model: ModelSpec, job: Job, s: int) -> tuple[int, int, int]:
    """(bytes per layer, model-level bytes, autocast weight copies) for b x s tokens."""
    b, tokens = job.batch, job.batch * s
    h = model.hidden_size or 0
    a, kv, hd = model.num_attention_heads or 1, model.kv_heads, model.head_size
    i = model.intermediate_size or 0
    amp = job.mixed and job.task in ("train", "finetune")  # autocast over fp32 weights
    pure16 = job.task in ("lora", "qlora") and job.precision in ("fp16", "bf16")
    c = 2 if (amp or pure16) else 4  # bytes of what matmuls save
    r = 2 if pure16 else 4  # residual stream
    casts = amp  # autocast copies each matmul input once per consuming Linear
    attn_inputs = 1 if (model.fused_qkv or not casts) else 3
    mlp_inputs = 2 if (casts and model.mlp == "swiglu") else 1

    def norm(consumers: int) -> float:
        out = c * h * consumers if casts else r * h
        if model.norm == "rmsnorm":
            return r * h + 4 * h + out + 4
        return r * h + out + 8

    per_token = norm(attn_inputs) + norm(mlp_inputs)
    per_token += c * (a * hd + 2 * kv * hd)  # q, k, v
    if kv < a:
        per_token += c * 2 * a * hd  # k and v repeated to every head (repeat_kv)
    per_token += c * a * hd  # attention output, the input of o_proj
    eff_s = min(s, model.sliding_window) if model.sliding_window else s
    mask = 0
    if job.attention == "sdpa":
        per_token += 4 * a  # log-sum-exp per head
    else:
        softmax = (4 + c) if (casts and job.device == "cuda") else c  # CUDA autocast: fp32 softmax
        per_token += softmax * a * eff_s
        mask = s * s  # boolean causal mask
    experts = model.experts_per_token or 1
    per_token += c * (4 if model.mlp == "swiglu" else 2) * i * experts
    if model.num_experts:
        per_token += 4 * model.num_experts  # router logits
    if job.task in ("lora", "qlora"):
        per_token += sum(c * job.lora_rank * n for _, _, n in matrices(model)) / max(model.num_layers or 1, 1)
    per_layer = int(per_token * tokens + mask)
    vocab = model.vocab_size or 0
    extras_per_token = norm(1) + 4 * vocab + 8  # final norm, fp32 log-softmax, token ids
    if model.kind == "vision_transformer":
        extras_per_token = norm(1) + 8
    extras = int(extras_per_token * tokens)
    if model.kind == "vision_transformer" and model.image_size:
        extras += 4 * b * 3 * model.image_size**2  # the image batch, saved by the patch conv
    weight_copies = 0
    if amp:
        matmul = sum(fi * fo * n for fi, fo, n in matrices(model)) + vocab * h
        weight_copies = c * matmul
    return per_layer, extras, weight_copies


def _inference_working_set(model: ModelSpec, job: Job, s: int) -> int:
    b, h, i = job.batch, model.hidden_size or 0, model.intermediate_size or 0
    c = WEIGHT_BYTES[job.precision] if job.precision in ("fp32", "fp16", "bf16") else 2
    layer = c * b * s * (4 * h + 3 * i)  # prefill: one layer's live tensors at a time
    logits = 4 * b * (model.vocab_size or 0)  # generation keeps only the last position's logits
    return int(layer + logits)


def kv_cache(model: ModelSpec, job: Job, seq: int) -> int:
    if not model.is_transformer or model.kind != "decoder":
        return 0
    window = min(seq, model.sliding_window) if model.sliding_window else seq
    return 2 * (model.num_layers or 0) * model.kv_heads * model.head_size * window * job.batch * 2


def _kv_how(model: ModelSpec, job: Job, seq: int) -> str:
    return (
        f"2 (K,V) x {model.num_layers} layers x {model.kv_heads} KV heads x "
        f"{model.head_size} x {seq} tokens x batch {job.batch} x 2 B"
    )


def _mlp_activations(model: ModelSpec, b: int) -> int:
    sizes = model.layer_sizes or []
    return 4 * b * sum(sizes) + 8 * b  # every layer's input, the log-softmax, the targets


def _cnn_activations(model: ModelSpec, b: int, mixed: bool) -> int:
    ch = model.channels or []
    side = model.image_size or 0
    total = 4 * b * ch[0] * side * side  # the image batch, saved by the first conv
    for prev, cur in pairwise(ch):
        if cur != prev:
            side = math.ceil(side / 2)
        total += 2 * 4 * b * cur * side * side  # conv output (saved by BN) + ReLU output
        total += 2 * 4 * cur  # BN saved mean and inverse std
    total += 4 * b * ch[-1] + 4 * b * (model.num_classes or 0) + 8 * b
    return total


def _short(n: float) -> str:
    return f"{n / GIB:.2f} GiB" if n >= GIB / 10 else f"{n / 1024**2:.1f} MiB"


def fits(total: int, card_memory_bytes: int) -> bool:
    return total <= USABLE_FRACTION * card_memory_bytes
