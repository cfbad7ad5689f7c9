"""The transformer block and the model-level pieces every transformer family shares (pure).

One block, pre-norm (GPT-2, Llama, ViT) or post-norm (BERT), saves the same multiset of tensors:
two norms' inputs, the Linear inputs after each norm, the attention core, the MLP's activation and,
while training with dropout, a mask per residual branch. The families arrange them.
"""

from __future__ import annotations

from collections.abc import Callable

from advisor.estimate.families.base import Activations, dtypes, last_block_backward, matmul_params, short
from advisor.estimate.families.pieces import MLP_SAVES, Attention, Dtypes, attention, linear_inputs, norm
from advisor.estimate.job import Job
from advisor.knowledge.models import ModelSpec

ModelLevel = Callable[[ModelSpec, Job, Dtypes, int], tuple[int, int]]


def attention_of(m: ModelSpec) -> Attention:
    return Attention(
        heads=m.num_attention_heads or 1,
        kv_heads=m.kv_heads,
        head_dim=m.head_size,
        fused_qkv=m.fused_qkv,
        rotary=m.positions == "rotary",
        dropout=m.attn_dropout,
        window=m.sliding_window,
        bias=m.positions == "relative",
        fp32_softmax=m.positions == "rotary",  # the Llama family's eager softmax(dtype=float32)
    )


def block(m: ModelSpec, job: Job, dt: Dtypes, s: int) -> tuple[float, str]:
    """(bytes per token one block saves, the attention path) for sequences of ``s`` tokens."""
    h, i = m.hidden_size or 0, m.intermediate_size or 0
    gated = m.mlp == "swiglu"
    norm_kind = m.norm or "layernorm"
    training = job.training
    per: float = norm(norm_kind, h, dt) + norm(norm_kind, h, dt)
    per += linear_inputs(h, 1 if m.fused_qkv else 3, dt)  # q, k, v read the first norm's output
    core, path = attention(attention_of(m), s, dt, fused=job.attention == "sdpa", training=training)
    per += core
    if dt.adapter_casts:
        # the output projection's adapter casts the attention output (fp32 shares it)
        per += dt.adapter * (m.num_attention_heads or 1) * m.head_size
    if m.num_experts:
        per += moe(m, dt)
    else:
        per += linear_inputs(h, 2 if gated else 1, dt)  # gate and up, or fc, read the second norm
        per += MLP_SAVES[m.mlp_activation] * dt.matmul * i
        if dt.adapter_casts:  # the down projection's adapter keeps its cast, not the 16-bit input
            per += (dt.adapter - dt.matmul) * i
    if training and m.mlp_dropout > 0:
        # T5's dropout inside the MLP: its mask, and the dropped tensor the down projection reads
        per += (dt.mask(dt.matmul) + dt.matmul) * i
    if training and m.hidden_dropout > 0:
        per += 2 * dt.mask(dt.matmul) * h  # the attention and MLP branches' dropout masks
    if job.task in ("lora", "qlora"):
        per += dt.adapter * job.lora_rank * adapted_per_block(m)  # each adapter's A output
    return per, path


def moe(m: ModelSpec, dt: Dtypes) -> float:
    """Bytes per token of a mixture-of-experts MLP (Mixtral in transformers 5: the router, then
    each expert over the rows routed to it). Each routed row keeps its gathered input, the
    expert's SwiGLU tensors and the expert's output (weighted by the router), plus its indices.
    The experts' grouped matmul is not on autocast's list: under autocast it runs in fp32."""
    h, i, k = m.hidden_size or 0, m.intermediate_size or 0, m.experts_per_token or 1
    ce = 4 if dt.autocast else dt.matmul
    per = linear_inputs(h, 1, dt)  # the router's input
    per += 4 * (m.num_experts or 1) + 12 * k + 4  # softmax, top-k indices and weights, their sum
    per += k * (MLP_SAVES[m.mlp_activation] * ce * i + 2 * ce * h + 4 + 24)
    return per


def copied_matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    """The blocks' matmul weights autocast copies to 16 bits: all of them, except the experts of
    an MoE (their grouped matmul runs in fp32), whose router is copied instead."""
    if not m.num_experts:
        return matrices(m)
    h, a, kv, hd, layers = (
        m.hidden_size or 0,
        m.num_attention_heads or 1,
        m.kv_heads,
        m.head_size,
        m.num_layers or 0,
    )
    return [(h, a * hd, layers), (h, kv * hd, 2 * layers), (a * hd, h, layers), (h, m.num_experts, layers)]


def cross_attention(m: ModelSpec, job: Job, dt: Dtypes, s: int, keys: int) -> float:
    """Bytes per decoder token of an encoder-decoder's cross-attention sublayer: its norm, the
    query's Linear input, the core over the encoder's ``keys`` tokens and the branch's dropout.
    The encoder output k and v read is counted once by the family (or per Linear under autocast)."""
    h = m.hidden_size or 0
    a = attention_of(m)
    cross = Attention(a.heads, a.kv_heads, a.head_dim, False, False, a.dropout, None, False, False)
    per: float = norm(m.norm or "layernorm", h, dt) + linear_inputs(h, 1, dt)
    core, _ = attention(cross, s, dt, fused=job.attention == "sdpa", training=job.training, keys=keys)
    per += core
    if job.training and m.hidden_dropout > 0:
        per += dt.mask(dt.matmul) * h
    if job.task in ("lora", "qlora"):
        per += dt.adapter * job.lora_rank * 2  # q and o adapters (k, v are per encoder token)
    return per


def adapted_per_block(m: ModelSpec) -> int:
    """Linears per block that LoRA adapts (every Linear: PEFT's all-linear, as QLoRA does)."""
    attn = 2 if m.fused_qkv else 4
    mlp = (3 if m.mlp == "swiglu" else 2) * (m.num_experts or 1)
    return attn + mlp


def matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    """(in, out, count) of every Linear in the blocks."""
    h, a, kv, hd = m.hidden_size or 0, m.num_attention_heads or 1, m.kv_heads, m.head_size
    i, layers = m.intermediate_size or 0, m.num_layers or 0
    experts = m.num_experts or 1
    mats = [(h, a * hd, layers), (h, kv * hd, 2 * layers), (a * hd, h, layers)]
    if m.fused_qkv:  # one Linear makes q, k and v (GPT-2's c_attn)
        mats = [(h, (a + 2 * kv) * hd, layers), (a * hd, h, layers)]
    if m.mlp == "swiglu":
        mats += [(h, i, 2 * layers * experts), (i, h, layers * experts)]
    else:
        mats += [(h, i, layers * experts), (i, h, layers * experts)]
    return mats


def block_params(m: ModelSpec) -> tuple[int, int]:
    """(parameters of one block, of which the experts' share not used per token)."""
    h, a, kv, hd = m.hidden_size or 0, m.num_attention_heads or 1, m.kv_heads, m.head_size
    i = m.intermediate_size or 0
    attn = h * a * hd + 2 * h * kv * hd + a * hd * h
    attn += (a * hd + 2 * kv * hd) * m.qkv_bias + h * m.out_bias
    mats = 3 if m.mlp == "swiglu" else 2
    mlp = mats * h * i + ((mats - 1) * i + h) * m.mlp_bias
    norms = 2 * norm_params(m)
    experts = m.num_experts or 1
    router = h * experts if m.num_experts else 0
    idle = mlp * (experts - (m.experts_per_token or 1)) if m.num_experts else 0
    return attn + mlp * experts + router + norms, idle


def late_params(m: ModelSpec) -> int:
    """Parameters whose gradients do not exist yet when a checkpointed backward recomputes the
    first block: that block's and the input embeddings' (unless tied to the head, whose gradient
    comes first)."""
    h = m.hidden_size or 0
    embed = 0 if m.tie_embeddings else (m.vocab_size or 0) * h
    if m.positions == "learned":
        embed += (m.max_seq_len or 0) * h
    return block_params(m)[0] + embed


def norm_params(m: ModelSpec) -> int:
    h = m.hidden_size or 0
    return 2 * h if (m.norm or "layernorm") == "layernorm" and m.norm_bias else h


def loss_bytes(vocab_or_labels: int, rows: int) -> tuple[int, int]:
    """(bytes the loss keeps, the fp32 logits it holds): the fp32 log-softmax and the targets."""
    logits = 4 * vocab_or_labels * rows
    return logits + 8 * rows, logits


def stack(
    m: ModelSpec, job: Job, s: int, model_level: ModelLevel, head: list[tuple[int, int, int]]
) -> Activations:
    """A stack of identical blocks under a family's embeddings and head: what a step saves."""
    dt = dtypes(job)
    t, layers, h = job.batch * s, m.num_layers or 0, m.hidden_size or 0
    per_token, path = block(m, job, dt, s)
    per_layer = int(per_token * t)
    kept, logits = model_level(m, job, dt, s)
    block_copies = 2 * matmul_params(copied_matrices(m)) // max(layers, 1) if dt.autocast else 0
    head_copies = 2 * matmul_params(head) if dt.autocast else 0
    if job.grad_checkpointing:
        # each block keeps only its input; its 16-bit weight copies are made again in backward
        saved = layers * t * dt.residual * h + kept + head_copies
        first = t * dt.residual * h + kept + head_copies
        how = (
            f"checkpointed: {layers} block inputs + model-level {short(kept)}; backward recomputes "
            f"one block ({short(per_layer)})"
        )
        return Activations(saved, per_layer + block_copies, logits, how, at_first_recompute=first)
    else:
        saved = layers * (per_layer + block_copies) + kept + head_copies
        last = last_block_backward(m, job, dt, t, head, logits)
        how = f"{layers} layers x {short(per_layer)} ({path} attention) + model-level {short(kept)}"
        if dt.autocast:
            how += f" + 16-bit weight copies {short(layers * block_copies + head_copies)}"
    return Activations(saved, per_layer + block_copies, logits, how, last_block_backward=last)
