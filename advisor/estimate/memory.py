"""How many bytes a job needs per GPU, line by line, and the peak the allocator sees (pure).

The lines (weights, gradients, optimizer state, activations, KV cache) are counted as PyTorch
and the Hugging Face classes hold them; each model family says what its operations save
(advisor/estimate/families/). They are not all alive at once: a training step peaks either at
the start of backward (the activations are all there, no gradient yet, and the loss's backward
briefly holds two more copies of the fp32 logits) or in the optimizer step (every gradient, plus
the optimizer's temporaries). With checkpointing the activations are each block's input, and the
peak comes when backward recomputes the first block with nearly every gradient in place.

Checked tensor by tensor against the real classes on the CPU: tests/test_estimate_transformers.py
(benchmarks/estimate_vs_transformers.py prints the table), and against this project's own models
in tests/test_estimate_accuracy.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from advisor.estimate.families import family
from advisor.estimate.families.base import Activations, matmul_params, short
from advisor.estimate.job import Job
from advisor.knowledge.models import ModelSpec

GIB = 1024**3
CUDA_CONTEXT_BYTES = 512 * 1024**2  # CUDA context + cuBLAS/cuDNN workspaces, typical (assumed)
ALLOCATOR_SLACK = 0.05  # caching-allocator fragmentation over the live tensors (assumed)
USABLE_FRACTION = 0.93  # of the marketed memory: driver reserve plus a safety margin

WEIGHT_BYTES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0, "int4": 0.53}
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4-bit + double-quantized block constants (QLoRA)
OPTIMIZER_BYTES = {"adamw": 8.0, "adam": 8.0, "sgd": 4.0, "adam8bit": 2.0}

Phase = Literal["backward start", "optimizer step", "block recompute", "prefill", "forward"]


class MemoryLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    bytes: int
    how: str
    at_peak: bool = True  # alive at the moment of the peak


class MemoryEstimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    weights: int
    gradients: int
    optimizer: int
    activations: int
    kv_cache: int
    transient: int  # alive only around the peak: the logits' gradient, the optimizer's temporaries
    overhead: int
    peak: int  # the most bytes of tensors alive at once (what the allocator sees)
    phase: Phase  # when the peak happens
    total: int  # peak + overhead: what the GPU must hold
    optimizer_step_extra: int  # the optimizer step's temporaries (in the peak when it is there)
    lines: list[MemoryLine]
    trainable_params: int
    notes: list[str]


def estimate_memory(model: ModelSpec, job: Job, seq: int) -> MemoryEstimate:
    notes: list[str] = []
    fam = family(model)
    shard = job.gpus if job.sharding != "none" else 1
    trainable = trainable_params(model, job)
    weights, weights_how = _weights(model, job, trainable)
    if job.sharding == "zero3":
        weights //= shard
    elif job.task == "inference" and job.gpus > 1:
        weights //= job.gpus
        weights_how += f", split over {job.gpus} GPUs"
    grad_bytes = 2 if job.task == "qlora" else 4  # QLoRA's adapters are bf16 (its recipe)
    grads = grad_bytes * trainable if job.training else 0
    if job.sharding in ("zero2", "zero3"):
        grads //= shard
    opt_bytes = _optimizer(model, job, trainable)
    if job.sharding != "none":
        opt_bytes //= shard
    paged = job.task == "qlora" and job.optimizer in ("adamw", "adam")
    kv = 0
    if job.task == "inference":
        kv = fam.kv_cache(model, job, seq)
        acts_bytes, acts_how = fam.prefill(model, job, seq)
        if job.gpus > 1:
            kv //= job.gpus
            acts_bytes //= job.gpus
            acts_how += f", heads and MLP split over {job.gpus} GPUs (tensor parallel)"
        acts = Activations(saved=acts_bytes, one_block=0, logits=0, how=acts_how)
    else:
        acts = fam.activations(model, job, seq)
        if model.kind in ("cnn", "unet") and not model.channels:
            from advisor.estimate.families.convnet import planning_note

            notes.append(planning_note(model) or "")
    step_extra = _step_extra(model, job, trainable) // shard if job.training else 0
    peak, phase, transient, transient_how, alive = _peak(
        job, weights, grads, opt_bytes, acts, kv, step_extra, paged, _late_grads(model, job, shard)
    )
    overhead = 0 if job.device == "cpu" else CUDA_CONTEXT_BYTES + int(ALLOCATOR_SLACK * peak)
    if job.mixed and job.task in ("train", "finetune"):
        notes.append(
            "mixed precision (torch.autocast): fp32 weights and gradients; no separate master copy is needed"
        )
    if phase == "optimizer step" and step_extra and job.device == "cuda":
        notes.append(
            f"the peak is torch.optim.AdamW's foreach step ({short(step_extra)} of temporaries); "
            "fused=True (the HF Trainer's adamw_torch_fused, its default with torch>=2.8) avoids them"
        )
    if paged:
        notes.append(
            "QLoRA's paged optimizer (paged_adamw_32bit) keeps its state in unified memory: the GPU "
            "pages it out to CPU RAM under pressure, so it is not counted in the peak"
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
    if job.attention == "eager" and job.training and model.is_transformer:
        notes.append(
            "eager attention keeps the s x s probabilities of every layer; --attention sdpa "
            "(fused/flash) does not"
        )
    lines = [
        MemoryLine(name="weights", bytes=weights, how=weights_how),
        MemoryLine(
            name="gradients", bytes=grads, how=_grads_how(job, trainable), at_peak="gradients" in alive
        ),
        MemoryLine(name="optimizer", bytes=opt_bytes, how=_optimizer_how(job), at_peak="optimizer" in alive),
        MemoryLine(
            name="activations",
            bytes=acts.saved,
            how=acts.how,
            at_peak="activations" in alive,
        ),
        MemoryLine(name="kv_cache", bytes=kv, how=_kv_how(model, job, seq) if kv else "-"),
        MemoryLine(name="transient", bytes=transient, how=transient_how),
        MemoryLine(
            name="overhead",
            bytes=overhead,
            how="CUDA context ~0.5 GiB + 5% allocator slack (assumed)" if overhead else "none on the CPU",
        ),
    ]
    return MemoryEstimate(
        weights=weights,
        gradients=grads,
        optimizer=opt_bytes,
        activations=acts.saved,
        kv_cache=kv,
        transient=transient,
        overhead=overhead,
        peak=peak,
        phase=phase,
        total=peak + overhead,
        optimizer_step_extra=step_extra,
        lines=lines,
        trainable_params=trainable,
        notes=notes,
    )


def _peak(
    job: Job,
    weights: int,
    grads: int,
    opt: int,
    acts: Activations,
    kv: int,
    step_extra: int,
    paged: bool,
    late_grads: int,
) -> tuple[int, Phase, int, str, set[str]]:
    """(peak, phase, transient bytes, how, the lines alive) of one step."""
    if not job.training:
        return weights + kv + acts.saved, "prefill", 0, "-", {"activations"}
    state = 0 if paged else opt
    # The loss's backward: the gradient of the log-softmax and of the logits, both fp32 b·s·V;
    # or, when the logits are small, the last block's backward.
    logits_grad = max(2 * acts.logits, acts.last_block_backward)
    candidates: list[tuple[int, Phase, int, str, set[str]]] = [
        (
            weights + state + acts.saved + logits_grad,
            "backward start",
            logits_grad,
            "the loss's backward: two fp32 copies of the logits"
            if 2 * acts.logits >= acts.last_block_backward
            else "the last block's backward: its gradients and the MLP's",
            {"optimizer", "activations"},
        ),
        (
            weights + state + grads + step_extra,
            "optimizer step",
            step_extra,
            "the optimizer step's temporaries",
            {"optimizer", "gradients"},
        ),
    ]
    if job.grad_checkpointing:
        early = max(grads - late_grads, 0)
        candidates.append(
            (
                weights + state + early + acts.at_first_recompute + acts.one_block,
                "block recompute",
                acts.one_block,
                "backward recomputes one block's activations",
                {"optimizer", "gradients", "activations"},
            )
        )
    peak, phase, transient, how, alive = max(candidates, key=lambda c: c[0])
    if paged:
        alive.discard("optimizer")
    return peak, phase, transient, how, alive


# --- parameters ----------------------------------------------------------------------------------


def _late_grads(model: ModelSpec, job: Job, shard: int) -> int:
    if not (job.grad_checkpointing and job.task in ("train", "finetune") and model.is_transformer):
        return 0  # LoRA's adapters are small: their late gradients do not matter
    from advisor.estimate.families.transformer import late_params

    return 4 * late_params(model) // (shard if job.sharding in ("zero2", "zero3") else 1)


def lora_params(model: ModelSpec, rank: int) -> int:
    """Adapters on every Linear of the blocks (PEFT's all-linear: the LM head is not adapted)."""
    mats = family(model).all_matrices(model)
    return sum(rank * (fan_in + fan_out) * n for fan_in, fan_out, n in mats)


def trainable_params(model: ModelSpec, job: Job) -> int:
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
    # Quantization (bitsandbytes, as QLoRA and LLM.int8 use it) replaces the blocks' Linears; the
    # embeddings, the LM head, norms and biases stay 16-bit.
    quantized = min(matmul_params(family(model).all_matrices(model)), n)
    kept = n - quantized
    if job.task == "qlora":
        return int(NF4_BYTES * quantized + 2 * kept) + 2 * trainable, (
            f"{quantized:,} params in NF4 ({NF4_BYTES:.3f} B with quantization constants) + "
            f"{kept:,} other params x 2 B + {trainable:,} LoRA params (rank {job.lora_rank}) x 2 B (bf16)"
        )
    per = WEIGHT_BYTES[job.precision]
    if job.precision in ("int8", "int4") and quantized:
        return int(per * quantized + 2 * kept), (
            f"{quantized:,} params x {per:g} B ({job.precision}) + {kept:,} other params x 2 B"
        )
    return int(per * n), f"{n:,} params x {per:g} B ({job.precision})"


def _grads_how(job: Job, trainable: int) -> str:
    if not job.training:
        return "-"
    if job.task == "qlora":
        return f"{trainable:,} trainable params x 2 B (bf16 adapters)"
    return f"{trainable:,} trainable params x 4 B (fp32)"


def _optimizer(model: ModelSpec, job: Job, trainable: int) -> int:
    if not job.training:
        return 0
    if job.optimizer == "adafactor":
        if job.task in ("lora", "qlora"):
            return 4 * trainable // 8  # factored rows + columns of the thin adapter matrices
        mats = family(model).all_matrices(model) + family(model).head_matrices(model)
        factored = sum(4 * (fan_in + fan_out) * n for fan_in, fan_out, n in mats)
        rest = model.params - matmul_params(mats)
        return factored + 4 * max(rest, 0) // max(model.hidden_size or 1, 1)
    return int(OPTIMIZER_BYTES[job.optimizer] * trainable)


def _step_extra(model: ModelSpec, job: Job, trainable: int) -> int:
    """The optimizer step's temporaries. CUDA's default foreach AdamW makes one fp32 copy of every
    state at once (its sqrt of exp_avg_sq); the CPU's per-tensor loop two of the largest tensor."""
    if job.optimizer not in ("adamw", "adam") or job.task == "qlora":
        return 0  # bitsandbytes' optimizers (8-bit, QLoRA's paged AdamW) update in one fused kernel
    if job.device == "cuda":
        return 4 * trainable
    mats = family(model).all_matrices(model) + family(model).head_matrices(model)
    if job.task in ("lora", "qlora"):
        largest = max((job.lora_rank * max(fi, fo) for fi, fo, _ in mats), default=0)
    else:
        embed = (model.vocab_size or 0) * (model.hidden_size or 0)
        largest = max([embed, *(fi * fo for fi, fo, _ in mats)], default=0)
        if model.num_experts:  # transformers 5 keeps a layer's experts in one 3-D tensor
            largest = max(
                largest, model.num_experts * 2 * (model.intermediate_size or 0) * (model.hidden_size or 0)
            )
    return 2 * 4 * largest


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


def _kv_how(model: ModelSpec, job: Job, seq: int) -> str:
    per = 4 if job.precision == "fp32" else 2
    tokens = f"{seq} tokens"
    if model.kind == "encoder_decoder":  # the self-attention cache and the cross-attention cache
        tokens = f"({job.target_seq or seq} target + {seq} input) tokens"
    return (
        f"2 (K,V) x {model.decoder_layers or model.num_layers} layers x {model.kv_heads} KV heads "
        f"x {model.head_size} x {tokens} x batch {job.batch} x {per} B"
    )


def fits(total: int, card_memory_bytes: int) -> bool:
    return total <= USABLE_FRACTION * card_memory_bytes


__all__ = ["GIB", "MemoryEstimate", "MemoryLine", "estimate_memory", "fits", "lora_params", "short"]
