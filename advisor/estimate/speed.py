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

from typing import Any

from pydantic import BaseModel, ConfigDict

from advisor.estimate.job import Job
from advisor.estimate.scaling import Parallelism, decode_seconds_per_token, link, training_efficiency
from advisor.knowledge.cards import Card
from advisor.knowledge.models import ModelSpec

TRAIN_MFU = 0.40
PREFILL_MFU = 0.50
# Convolutional networks (ResNet, the diffusion UNet) are more bandwidth bound than transformers:
# their own base utilisation and memory share, fitted on lambda-2023-resnet50-amp
# (benchmarks/fit_speed.py); every other ResNet-50 set and the Stable Diffusion sets are held out.
CNN_MFU = 0.151
CNN_MEMORY_SHARE = 76.0
# Decode at batch 1 (llama.cpp): the share of the memory bandwidth reached, by memory type (HBM
# cards reach less of theirs), and a fixed cost per layer per token (kernel launches), fitted on
# the three xiongjiedai-llama3 sets (benchmarks/fit_speed.py); the llama2 sets are held out.
DECODE_BANDWIDTH_UTIL = {"gddr": 0.84, "hbm": 0.52}
DECODE_LAYER_SECONDS = 70e-6
MEMORY_SHARE = 7.49  # g at hidden 1024, fitted on data/benchmarks.yaml lambda-2023
REFERENCE_HIDDEN = 1024
# The card the default MFU was observed on (Llama 2 on A100-80GB SXM: 312 TFLOPS bf16, 2039 GB/s).
REFERENCE_PEAK_TFLOPS, REFERENCE_BANDWIDTH_GBS = 312.0, 2039.0


def roofline_fraction(
    peak_tflops: float, bandwidth_gbs: float, hidden: int | None, share: float | None = None
) -> float:
    """The fraction of its peak a card can reach when part of the work is bandwidth bound."""
    g = (MEMORY_SHARE if share is None else share) * REFERENCE_HIDDEN / (hidden or REFERENCE_HIDDEN)
    return 1.0 / (1.0 + g * peak_tflops / bandwidth_gbs)


def default_mfu(
    base: float, peak_tflops: float, bandwidth_gbs: float, hidden: int | None, share: float | None = None
) -> float:
    """`base` observed on the reference card, carried over to this card through the roofline."""
    return (
        base
        * roofline_fraction(peak_tflops, bandwidth_gbs, hidden, share)
        / roofline_fraction(REFERENCE_PEAK_TFLOPS, REFERENCE_BANDWIDTH_GBS, hidden, share)
    )


def decode_share(card: Card) -> float:
    """The share of its memory bandwidth a card reaches generating one token at a time."""
    return DECODE_BANDWIDTH_UTIL["hbm" if card.memory_type.upper().startswith("HBM") else "gddr"]


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
    scaling: float = 1.0  # the share of n GPUs' speed kept after communication (1 on one GPU)
    unavailable: str | None = None


def compute_dtype(job: Job) -> str:
    if job.task == "qlora":
        return job.precision  # 16-bit compute over dequantized 4-bit weights
    return job.precision if job.precision in ("fp16", "bf16", "fp32") else "fp16"


def peak_tflops(card: Card, dtype: str, *, convolutions: bool = False) -> float | None:
    """Dense peak for PyTorch's defaults. fp32 matmuls do not use TF32 unless enabled
    (torch.backends.cuda.matmul.allow_tf32 is False), but cuDNN convolutions do
    (torch.backends.cudnn.allow_tf32 is True): a CNN in fp32 runs at the TF32 peak on Ampere and
    later. Without tensor cores (Pascal), fp16 runs at the fp32 rate."""
    fp32 = (card.tf32_tensor_tflops or card.fp32_tflops) if convolutions else card.fp32_tflops
    return {
        "fp32": fp32,
        "fp16": card.fp16_tensor_tflops or card.fp32_tflops,
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
    trainable_params: int = 0,
) -> SpeedEstimate:
    dtype = compute_dtype(job)
    peak = peak_tflops(card, dtype, convolutions=model.kind in ("cnn", "unet"))
    flops = training_flops_per_token(model, job, seq)
    base_mfu = TRAIN_MFU if job.training else PREFILL_MFU
    convolutional = model.kind in ("cnn", "unet")
    if convolutional:
        base_mfu = CNN_MFU
    if mfu is not None:
        util, source = mfu, mfu_source or "given"
    elif peak is not None:
        util = default_mfu(
            base_mfu,
            peak,
            card.memory_bandwidth_gbs,
            model.hidden_size,
            CNN_MEMORY_SHARE if convolutional else None,
        )
        if convolutional:
            source = (
                f"{base_mfu:.0%} on an A100 SXM4 80GB, fitted on Lambda's ResNet-50 training "
                "(data/benchmarks.yaml), carried to this card by its compute/bandwidth balance"
            )
        elif job.training:
            source = (
                f"{base_mfu:.0%} on an A100 SXM4 80GB (Llama 2/3 papers imply 38-43%), carried to "
                "this card by its compute/bandwidth balance"
            )
        else:
            source = "assumed prefill utilization, carried by compute/bandwidth balance"
    else:
        util, source = base_mfu, "default"
    base: dict[str, Any] = dict(
        scaling=1.0,
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
    lnk = link(card, job.gpus, card.form_factor)
    if job.training or not model.is_transformer:
        per_gpu_units = job.batch * (1 if not model.is_transformer else seq)
        step_s = per_gpu_units * flops / rate
        parallelism: Parallelism = "zero3" if job.sharding == "zero3" else "data"
        grads = (2 if job.task == "qlora" else 4) * trainable_params
        eff = training_efficiency(parallelism, job.gpus, step_s, grads, 2 * model.params, lnk)
        base["scaling"] = eff
    if not model.is_transformer:
        samples = rate * job.gpus * base["scaling"] / flops
        return SpeedEstimate(**base, samples_per_second=samples, step_seconds=job.batch * job.gpus / samples)
    if job.training:
        tokens_per_step = job.batch * seq * job.gpus
        tps = rate * job.gpus * base["scaling"] / flops
        return SpeedEstimate(
            **base,
            tokens_per_step=tokens_per_step,
            tokens_per_second=tps,
            step_seconds=tokens_per_step / tps,
            hours_per_billion_tokens=1e9 / tps / 3600,
        )
    prefill = rate * job.gpus / flops
    bandwidth = card.memory_bandwidth_gbs * 1e9 * decode_share(card)
    read = (weights_bytes + kv_bytes) * job.gpus  # per-GPU shares, all GPUs together
    if model.kind == "decoder" and not model.tie_embeddings:
        # a token reads one row of the input embedding, not the table (the LM head is read whole)
        read -= (model.vocab_size or 0) * (model.hidden_size or 0) * (4 if job.precision == "fp32" else 2)
    split: Parallelism = "layers" if job.split == "layers" else "tensor"
    layers = model.num_layers or 0
    per_token = decode_seconds_per_token(split, job.gpus, read, bandwidth, layers, lnk)
    per_token += layers * DECODE_LAYER_SECONDS
    decode = job.batch / per_token if read else None
    single = read / bandwidth if read else 0.0
    base["scaling"] = (single / per_token / job.gpus) if (read and job.gpus > 1) else 1.0
    return SpeedEstimate(
        **base, prefill_tokens_per_second=prefill, decode_tokens_per_second=decode, tokens_per_second=decode
    )
