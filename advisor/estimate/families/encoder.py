"""Encoders: BERT (learned and token-type embeddings, post-norm blocks, a masked-LM or a
classification head) and the vision transformer (patch embedding, pre-norm blocks, a class-token
classifier) (pure)."""

from __future__ import annotations

from advisor.estimate.families.base import Activations
from advisor.estimate.families.pieces import MLP_LIVE, Dtypes, linear_inputs, norm
from advisor.estimate.families.transformer import block_params, loss_bytes, matrices, norm_params, stack
from advisor.estimate.job import Job
from advisor.knowledge.models import ModelSpec

CHANNELS = 3


def tokens(m: ModelSpec) -> int:
    """A vision transformer's sequence: the patches and the class token."""
    return ((m.image_size or 0) // (m.patch_size or 1)) ** 2 + 1


def params(m: ModelSpec) -> tuple[int, int]:
    h, v, layers = m.hidden_size or 0, m.vocab_size or 0, m.num_layers or 0
    per, _ = block_params(m)
    labels = m.num_classes or 2
    if m.kind == "vision_transformer":
        patch = CHANNELS * (m.patch_size or 0) ** 2 * h + h
        embed = patch + h + tokens(m) * h  # conv, class token, position embeddings
        head = h * labels + labels if m.task_head == "image_cls" else h * h + h  # or the pooler
        total = layers * per + embed + norm_params(m) + head
        return total, total
    embed = (v + (m.max_seq_len or 0) + m.type_vocab_size) * h + norm_params(m)
    pooler = h * h + h
    heads = {
        "masked_lm": h * h + h + norm_params(m) + v + (0 if m.tie_embeddings else v * h),
        "seq_cls": pooler + h * labels + labels,
        "none": pooler,
    }
    total = layers * per + embed + heads.get(m.task_head, pooler)
    return total, total


def head_matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    h = m.hidden_size or 0
    if m.task_head == "masked_lm":
        return [(h, h, 1), (h, m.vocab_size or 0, 1)]
    if m.kind == "vision_transformer":  # the patch convolution and the classifier
        patch = [(CHANNELS * (m.patch_size or 0) ** 2, h, 1)]
        return patch + ([(h, m.num_classes or 2, 1)] if m.task_head == "image_cls" else [])
    return [(h, h, 1), (h, m.num_classes or 2, 1)]  # the pooler and the classifier


def model_level(m: ModelSpec, job: Job, dt: Dtypes, s: int) -> tuple[int, int]:
    b, t, h = job.batch, job.batch * s, m.hidden_size or 0
    ln = norm(m.norm or "layernorm", h, dt)
    drop = dt.mask(dt.residual) * h * t if job.training and m.embedding_dropout > 0 else 0
    labels = m.num_classes or 2
    if m.kind == "vision_transformer":
        side = m.image_size or 0
        # the images, kept by the patch convolution (cast to 16 bits first under autocast)
        kept = (2 if dt.autocast else 4) * b * CHANNELS * side * side
        kept += drop + ln * t  # the final norm
    else:
        kept = 8 * t + 8 * s + ln * t + drop  # ids, position ids, the embeddings' norm
    if m.task_head == "masked_lm":
        # the MLM head: dense, GELU (keeps its input), norm, decoder over the vocabulary
        kept += linear_inputs(h, 1, dt) * t + dt.matmul * h * t + ln * t + linear_inputs(h, 1, dt) * t
        loss, logits = loss_bytes(m.vocab_size or 0, t)
        return kept + loss, logits
    # a classifier on the first token: the slice, a view, keeps the whole last hidden state alive
    # (under autocast the Linear keeps its 16-bit copy of the slice instead)
    if not dt.autocast:
        kept += dt.residual * h * t
    if m.kind == "encoder":  # BERT's pooler: dense, tanh, dropout
        kept += (linear_inputs(h, 1, dt) + dt.matmul * h) * b
        if job.training and m.hidden_dropout > 0:
            kept += dt.mask(dt.matmul) * h * b
    kept += linear_inputs(h, 1, dt) * b
    loss, logits = loss_bytes(labels, b)
    return kept + loss, logits


def activations(m: ModelSpec, job: Job, s: int) -> Activations:
    return stack(m, job, s, model_level, head_matrices(m))


def all_matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    return matrices(m)


def kv_cache(m: ModelSpec, job: Job, s: int) -> int:
    return 0  # an encoder reads its input at once: nothing is cached


def prefill(m: ModelSpec, job: Job, s: int) -> tuple[int, str]:
    """One forward without autograd: the widest layer's live tensors and the head's output."""
    b, t, h, i = job.batch, job.batch * s, m.hidden_size or 0, m.intermediate_size or 0
    c = 4 if job.precision == "fp32" else 2
    layer = c * t * (4 * h + MLP_LIVE[m.mlp_activation] * i)
    if job.attention == "eager":
        layer = max(layer, c * t * 7 * h + (c + 4) * b * (m.num_attention_heads or 1) * s * s)
    head = 4 * t * (m.vocab_size or 0) if m.task_head == "masked_lm" else 4 * b * (m.num_classes or 2)
    return layer + head, "one layer's live tensors + the head's output"
