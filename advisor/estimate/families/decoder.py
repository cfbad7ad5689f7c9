"""Decoder-only language models: GPT-2 (learned positions, fused qkv, LayerNorm, GELU) and the
Llama line (rotary positions, RMSNorm, grouped heads, SwiGLU; Mistral's window, Qwen2's biases,
Mixtral's experts) (pure)."""

from __future__ import annotations

from advisor.estimate.families.base import Activations
from advisor.estimate.families.pieces import MLP_LIVE, Dtypes, linear_inputs, norm
from advisor.estimate.families.transformer import block_params, loss_bytes, matrices, norm_params, stack
from advisor.estimate.job import Job
from advisor.knowledge.models import ModelSpec


def params(m: ModelSpec) -> tuple[int, int]:
    """(total, active per token) parameters, biases and norms included, as the HF class has them."""
    h, v, layers = m.hidden_size or 0, m.vocab_size or 0, m.num_layers or 0
    per, idle = block_params(m)
    embed = v * h + (h * (m.max_seq_len or 0) if m.positions == "learned" else 0)
    total = layers * per + embed + norm_params(m) + (0 if m.tie_embeddings else v * h)
    return total, total - layers * idle


def head_matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    return [(m.hidden_size or 0, m.vocab_size or 0, 1)]


def model_level(m: ModelSpec, job: Job, dt: Dtypes, s: int) -> tuple[int, int]:
    """(bytes kept outside the blocks, the fp32 logits) for a batch of sequences of ``s``."""
    t, h = job.batch * s, m.hidden_size or 0
    kept = 8 * t  # the token ids, kept by the embedding
    if m.positions == "learned":
        kept += 8 * s  # the position ids
    elif m.positions == "rotary":
        kept += 2 * 4 * s * m.head_size  # cos and sin (fp32), shared by every layer
    if job.training and m.embedding_dropout > 0:
        kept += dt.mask(dt.residual) * h * t
    kept += norm(m.norm or "layernorm", h, dt) * t
    if not dt.frozen_linears:  # the LM head is not adapted by LoRA: it saves nothing then
        kept += linear_inputs(h, 1, dt) * t
    loss, logits = loss_bytes(m.vocab_size or 0, t)
    return kept + loss, logits


def activations(m: ModelSpec, job: Job, s: int) -> Activations:
    return stack(m, job, s, model_level, head_matrices(m))


def kv_bytes(job: Job) -> int:
    """Bytes per cached value: the activations' dtype (int8/int4 weights compute in 16 bits)."""
    return 4 if job.precision == "fp32" else 2


def kv_cache(m: ModelSpec, job: Job, s: int) -> int:
    window = min(s, m.sliding_window) if m.sliding_window else s
    return 2 * (m.num_layers or 0) * m.kv_heads * m.head_size * window * job.batch * kv_bytes(job)


def prefill(m: ModelSpec, job: Job, s: int) -> tuple[int, str]:
    """(bytes alive at the prefill's peak besides the weights and the cache, how).

    A forward without autograd frees each tensor when the next op is done with it, so one layer
    at a time is alive: at the MLP, the residual stream, its norm, the up projection's output and
    the activation's temporaries; at eager attention, q, the repeated k and v, the s x s scores and
    their softmax. Eager attention also keeps the layer's probabilities (the layer returns them)
    through the MLP, and a float causal mask of b x s x s for all layers. Measured on the CPU
    (benchmarks/transformers_harness.py) within 10%. Generation keeps the last position's logits."""
    chunk = min(s, job.prefill_chunk or s)  # chunked prefill: the working set of one chunk
    b, t, h, i = job.batch, job.batch * chunk, m.hidden_size or 0, m.intermediate_size or 0
    a, q = m.num_attention_heads or 1, (m.num_attention_heads or 1) * m.head_size
    c = kv_bytes(job)
    eff = min(s, m.sliding_window) if m.sliding_window else s
    mlp = c * t * (4 * h + MLP_LIVE[m.mlp_activation] * i * (m.experts_per_token or 1))
    if job.attention == "eager":
        p = 4 if m.positions == "rotary" else c  # the Llama family's softmax runs in fp32
        mask = c * b * chunk * s
        attn = c * t * (2 * h + 5 * q) + (c + p) * b * a * chunk * eff + mask
        layer = max(mlp + p * b * a * chunk * eff + mask, attn)
    else:
        layer = max(mlp, c * t * (2 * h + 4 * q))
    logits = 4 * b * (m.vocab_size or 0)
    how = "one layer's live tensors + the last position's logits"
    if chunk < s:
        how += f" (prefill in chunks of {chunk} tokens)"
    return layer + logits, how


def all_matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    return matrices(m)
