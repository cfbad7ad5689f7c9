"""Encoder-decoder models: T5 (relative position buckets, RMS-style norms, pre-norm blocks, dropout
inside the MLP) and BART (learned positions, post-norm blocks, biases). The decoder's blocks add a
cross-attention sublayer over the encoder's output (pure)."""

from __future__ import annotations

from advisor.estimate.families.base import Activations, dtypes, last_block_backward, matmul_params, short
from advisor.estimate.families.pieces import MLP_LIVE, Dtypes, linear_inputs, norm
from advisor.estimate.families.transformer import (
    block,
    block_params,
    cross_attention,
    loss_bytes,
    matrices,
    norm_params,
)
from advisor.estimate.job import Job
from advisor.knowledge.models import ModelSpec

BART_POSITION_OFFSET = 2  # BartLearnedPositionalEmbedding keeps two extra rows


def decoder_layers(m: ModelSpec) -> int:
    return m.decoder_layers or m.num_layers or 0


def target_len(job: Job, s: int) -> int:
    """Decoder tokens per sample: --target-seq, or as many as the input."""
    return job.target_seq or s


def _cross_params(m: ModelSpec) -> int:
    h, q = m.hidden_size or 0, (m.num_attention_heads or 1) * m.head_size
    kv = m.kv_heads * m.head_size
    return h * q + 2 * h * kv + q * h + (q + 2 * kv) * m.qkv_bias + h * m.out_bias + norm_params(m)


def params(m: ModelSpec) -> tuple[int, int]:
    h, v = m.hidden_size or 0, m.vocab_size or 0
    per, _ = block_params(m)
    enc, dec = m.num_layers or 0, decoder_layers(m)
    total = enc * per + dec * (per + _cross_params(m)) + v * h  # the shared token embedding
    total += 2 * norm_params(m)  # each stack's final norm (T5) or embedding norm (BART)
    if m.positions == "relative":  # one bucket table per stack, in its first layer
        total += 2 * (m.relative_buckets or 32) * (m.num_attention_heads or 1)
    elif m.positions == "learned":
        total += 2 * ((m.max_seq_len or 0) + BART_POSITION_OFFSET) * h
    if not m.tie_embeddings:
        total += v * h  # the LM head
    return total, total


def all_matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    """(in, out, count) of every Linear in both stacks, cross-attention included."""
    h, q = m.hidden_size or 0, (m.num_attention_heads or 1) * m.head_size
    kv = m.kv_heads * m.head_size
    enc = matrices(m)
    dec = [(fi, fo, n * decoder_layers(m) // max(m.num_layers or 1, 1)) for fi, fo, n in enc]
    cross = [(h, q, 1), (h, kv, 2), (q, h, 1)]
    return enc + dec + [(fi, fo, n * decoder_layers(m)) for fi, fo, n in cross]


def head_matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    return [(m.hidden_size or 0, m.vocab_size or 0, 1)]


def _stack_level(m: ModelSpec, job: Job, dt: Dtypes, s: int) -> int:
    """What one stack keeps outside its blocks: token ids, positions, the embedding's dropout
    and its norm (BART's layernorm_embedding, T5's final norm) with the closing dropout."""
    t, h = job.batch * s, m.hidden_size or 0
    kept = 8 * t + norm(m.norm or "layernorm", h, dt) * t
    if m.positions == "relative":
        kept += 8 * s * s  # the bucket indices the bias table's embedding keeps
    elif m.positions == "learned":
        kept += 8 * s  # the position ids
    if job.training and m.embedding_dropout > 0:
        kept += dt.mask(dt.residual) * h * t
        if m.positions == "relative":  # T5 drops out the stack's output too
            kept += dt.mask(dt.residual) * h * t
    return kept


def activations(m: ModelSpec, job: Job, s: int) -> Activations:
    dt = dtypes(job)
    b, h = job.batch, m.hidden_size or 0
    sd = target_len(job, s)
    te, td = b * s, b * sd
    enc_layer = int(block(m, job, dt, s)[0] * te)
    dec_per_token = block(m, job, dt, sd)[0] + cross_attention(m, job, dt, sd, s)
    # the encoder's output, read by every decoder layer's k and v Linears: kept once in fp32,
    # or cast (and kept) per Linear under autocast
    enc_out = linear_inputs(h, 2, dt) * te
    dec_layer = int(dec_per_token * td) + (enc_out if dt.autocast else 0)
    kept = _stack_level(m, job, dt, s) + _stack_level(m, job, dt, sd)
    kept += 0 if dt.autocast else enc_out
    if not dt.frozen_linears:
        kept += linear_inputs(h, 1, dt) * td  # the LM head's input
    loss, logits = loss_bytes(m.vocab_size or 0, td)
    kept += loss
    enc_n, dec_n = m.num_layers or 0, decoder_layers(m)
    copies = 2 * matmul_params(all_matrices(m) + head_matrices(m)) if dt.autocast else 0
    if job.grad_checkpointing:
        head_copies = 2 * matmul_params(head_matrices(m)) if dt.autocast else 0
        if m.positions == "relative":
            # the blocks' other inputs are kept too: T5's position biases (encoder, decoder, and
            # the cross-attention's zeros, fp32) and the decoder's float causal mask
            a = m.num_attention_heads or 1
            kept += 4 * a * (s * s + sd * sd + sd * s) + dt.residual * b * sd * sd
        saved = (enc_n * te + dec_n * td) * dt.residual * h + kept + head_copies
        how = (
            f"checkpointed: {enc_n} + {dec_n} block inputs + model-level {short(kept)}; backward "
            f"recomputes one block ({short(max(enc_layer, dec_layer))})"
        )
        one = max(enc_layer, dec_layer) + copies // max(enc_n + dec_n, 1)
        first = te * dt.residual * h + kept + head_copies
        return Activations(saved, one, logits, how, at_first_recompute=first)
    saved = enc_n * enc_layer + dec_n * dec_layer + kept + copies
    how = (
        f"{enc_n} encoder layers x {short(enc_layer)} + {dec_n} decoder layers x {short(dec_layer)} "
        f"+ model-level {short(kept)}"
    )
    if copies:
        how += f" + 16-bit weight copies {short(copies)}"
    last = last_block_backward(m, job, dt, td, head_matrices(m), logits)
    return Activations(saved, max(enc_layer, dec_layer), logits, how, last_block_backward=last)


def kv_bytes(job: Job) -> int:
    return 4 if job.precision == "fp32" else 2


def kv_cache(m: ModelSpec, job: Job, s: int) -> int:
    """The decoder's self-attention cache over the target and the cross-attention cache over the
    encoder's ``s`` tokens, for every decoder layer."""
    per_token = 2 * decoder_layers(m) * m.kv_heads * m.head_size * job.batch * kv_bytes(job)
    return per_token * (target_len(job, s) + s)


def prefill(m: ModelSpec, job: Job, s: int) -> tuple[int, str]:
    """The encoder's forward over the prompt, one layer's live tensors at a time (the decoder's
    steps are smaller), and the last position's logits."""
    b, t, h, i = job.batch, job.batch * s, m.hidden_size or 0, m.intermediate_size or 0
    c = kv_bytes(job)
    layer = c * t * (4 * h + MLP_LIVE[m.mlp_activation] * i)
    if job.attention == "eager" or m.positions == "relative":
        a = m.num_attention_heads or 1
        scores = (c + 4) * b * a * s * s  # the scores and their softmax
        layer = max(layer, c * t * (2 * h + 5 * a * m.head_size) + scores)
    return layer + 4 * b * (m.vocab_size or 0), "the encoder's largest layer + the last logits"
