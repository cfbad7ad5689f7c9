"""How fast a job runs on a card (pure): FLOPs over the card's peak times a utilization.

Training FLOPs per token follow Kaplan et al. 2020 (arXiv 2001.08361): forward 2N + 2·L·s·d
(attention), training three times the forward; checkpointing adds one forward; LoRA/QLoRA skip the
frozen weights' gradients (about 2N of the 6N). Inference splits into prefill (compute bound:
2N per token) and decode (memory bound: every weight and the KV cache read once per step).

The utilization figures are planning defaults, replaced by what `advisor bench` measures:
- training MFU 0.40 on the reference card (A100 SXM4 80GB): Llama 2 (arXiv 2307.09288, Table 2)
  implies 0.39-0.43 on A100-80GB; Llama 3 (arXiv 2407.21783) reports 0.38-0.43 on H100.
- prefill 0.50 of tensor peak; decode 0.60 of memory bandwidth (assumed).

Cards differ in more than peak FLOPS: part of a training step (norms, activations, softmax,
the optimizer) is bound by memory bandwidth. The fraction of its peak a card reaches is modelled
as 1 / (1 + g·P/W) (P peak TFLOPS, W GB/s), a roofline blend, with g = MEMORY_SHARE·(1024/hidden)
because a layer's FLOPs per token grow with hidden² and its memory traffic with hidden. g was
fitted once (g = 7.49 at hidden 1024) on Lambda's 2023 BERT-Large measurements and is checked on
their older, independent set (data/benchmarks.yaml, tests/test_speed_vs_published.py).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from advisor.estimate.job import Job
from advisor.knowledge.cards import Card
from advisor.knowledge.models import ModelSpec

TRAIN_MFU = 0.40
PREFILL_MFU = 0.50
DECODE_BANDWIDTH_UTIL = 0.60
MEMORY_SHARE = 7.49  # g at hidden 1024, fitted on data/benchmarks.yaml lambda-2023
REFERENCE_HIDDEN = 1024
# The card the default MFU was observed on (Llama 2 on A100-80GB SXM: 312 TFLOPS bf16, 2039 GB/s).
REFERENCE_PEAK_TFLOPS, REFERENCE_BANDWIDTH_GBS = 312.0, 2039.0


def roofline_fraction(peak_tflops: float, bandwidth_gbs: float, hidden: int | None) -> float:
    """The fraction of its peak a card can reach when part of the work is bandwidth bound."""
    g = MEMORY_SHARE * REFERENCE_HIDDEN / (hidden or REFERENCE_HIDDEN)
    return 1.0 / (1.0 + g * peak_tflops / bandwidth_gbs)


def default_mfu(base: float, peak_tflops: float, bandwidth_gbs: float, hidden: int | None) -> float:
    """`base` observed on the reference card, carried over to this card through the roofline."""
    return (
        base
        * roofline_fraction(peak_tflops, bandwidth_gbs, hidden)
        / roofline_fraction(REFERENCE_PEAK_TFLOPS, REFERENCE_BANDWIDTH_GBS, hidden)
    )


class SpeedEstimate(BaseModel):
    model_config = ConfigDict(frozen=True)

    card: str
    dtype: str
    peak_tflops: float | None
    utilization: float
    utilization_source: str
    flops_per_token: float
    tokens_per_step: int | None = None
    step_seconds: float | None = None
    tokens_per_second: float | None = None
    hours_per_billion_tokens: float | None = None
    prefill_tokens_per_second: float | None = None
    decode_tokens_per_second: float | None = None
    samples_per_second: float | None = None
    unavailable: str | None = None


def compute_dtype(job: Job) -> str:
    if job.task == "qlora":
        return job.precision  # 16-bit compute over dequantized 4-bit weights
    return job.precision if job.precision in ("fp16", "bf16", "fp32") else "fp16"


def peak_tflops(card: Card, dtype: str) -> float | None:
    """Dense peak for PyTorch's defaults: fp32 matmuls do not use TF32 unless enabled."""
    return {
        "fp32": card.fp32_tflops,
        "fp16": card.fp16_tensor_tflops or card.fp32_tflops * 2,
        "bf16": card.bf16_tensor_tflops,
    }.get(dtype)


def training_flops_per_token(model: ModelSpec, job: Job, seq: int) -> float:
    n = model.params_per_token
    if not model.is_transformer:  # per sample, not per token
        forward_sample = (model.forward_gflops_per_sample or 0) * 1e9
        if not job.training:
            return forward_sample
        return forward_sample * (4 if job.grad_checkpointing else 3)
    attention = 2 * (model.num_layers or 0) * seq * (model.num_attention_heads or 1) * model.head_size
    forward = 2 * n + attention
    if not job.training:
        return forward
    backward = 2 * forward if job.task in ("train", "finetune") else forward + attention
    recompute = forward if job.grad_checkpointing else 0
    return forward + backward + recompute


def estimate_speed(
    model: ModelSpec,
    job: Job,
    seq: int,
    card: Card,
    *,
    mfu: float | None = None,
    mfu_source: str | None = None,
    weights_bytes: int = 0,
    kv_bytes: int = 0,
) -> SpeedEstimate:
    dtype = compute_dtype(job)
    peak = peak_tflops(card, dtype)
    flops = training_flops_per_token(model, job, seq)
    base_mfu = TRAIN_MFU if job.training else PREFILL_MFU
    if mfu is not None:
        util, source = mfu, mfu_source or "given"
    elif peak is not None:
        util = default_mfu(base_mfu, peak, card.memory_bandwidth_gbs, model.hidden_size)
        source = (
            f"{base_mfu:.0%} on an A100 SXM4 80GB (Llama 2/3 papers imply 38-43%), carried to this "
            "card by its compute/bandwidth balance"
            if job.training
            else "assumed prefill utilization, carried by compute/bandwidth balance"
        )
    else:
        util, source = base_mfu, "default"
    base = dict(
        card=card.name,
        dtype=dtype,
        peak_tflops=peak,
        utilization=util,
        utilization_source=source,
        flops_per_token=flops,
    )
    if peak is None:
        return SpeedEstimate(
            **base, unavailable=f"{card.name} has no {dtype} tensor cores (try --precision fp16)"
        )
    rate = peak * 1e12 * util
    if not model.is_transformer:
        samples = rate * job.gpus / flops
        return SpeedEstimate(**base, samples_per_second=samples, step_seconds=job.batch * job.gpus / samples)
    if job.training:
        tokens_per_step = job.batch * seq * job.gpus
        tps = rate * job.gpus / flops
        return SpeedEstimate(
            **base,
            tokens_per_step=tokens_per_step,
            tokens_per_second=tps,
            step_seconds=tokens_per_step / tps,
            hours_per_billion_tokens=1e9 / tps / 3600,
        )
    prefill = rate * job.gpus / flops
    bandwidth = card.memory_bandwidth_gbs * 1e9 * DECODE_BANDWIDTH_UTIL * job.gpus
    per_step_bytes = weights_bytes * job.gpus + kv_bytes * job.gpus  # per-GPU shares, all GPUs
    decode = job.batch * bandwidth / per_step_bytes if per_step_bytes else None
    return SpeedEstimate(
        **base, prefill_tokens_per_second=prefill, decode_tokens_per_second=decode, tokens_per_second=decode
    )
