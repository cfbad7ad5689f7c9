"""What the operations of a transformer save for backward, in bytes (pure).

Each function counts the tensors autograd keeps for one kind of operation, as PyTorch and the
Hugging Face implementations do it, measured tensor by tensor on the real classes
(benchmarks/transformers_harness.py; tests/test_estimate_transformers.py):

- A Linear saves its input (not its output). Under autocast each Linear casts its input to 16 bits
  and saves that copy, so one fp32 tensor read by three Linears (q, k, v) is saved three times in
  16 bits; a 16-bit input (the output of another matmul) is saved as it is. A frozen Linear (LoRA)
  saves nothing of its input: only gradients for the input flow back, and they need the weight.
- Autocast also keeps one 16-bit copy of each matmul weight per forward.
- LayerNorm saves its input and two fp32 statistics per row; HF's RMSNorm (written out) saves its
  fp32 input, the fp32 reciprocal root and the normalized tensor.
- Fused attention (SDPA's flash kernels) saves q, k, v, its output and a log-sum-exp per head;
  the math path (eager, or SDPA with dropout on the CPU) saves q, k, v, the s x s probabilities,
  and with dropout the mask and the dropped probabilities.
- A dropout mask is one byte per element on CUDA (native_dropout's bool mask) and an element of
  the input's dtype on the CPU (its dropout multiplies by a noise tensor).
- Multiplying by a tensor that needs no gradient (RoPE's cos and sin) saves only that tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.choices import Device

# The MLP's activation, as the implementation writes it: how many tensors of the intermediate
# width it keeps for backward, counting the down projection's input.
#   gelu (F.gelu, erf): its input; the down projection's input = 2
#   gelu_tanh (F.gelu(approximate="tanh"), "gelu_pytorch_tanh"): the same = 2
#   gelu_new / gelu_fast (NewGELUActivation, written as pow/tanh/mul): x, tanh out, 0.5x, 1+tanh,
#     and the down projection's input = 5
#   quick_gelu (x * sigmoid(1.702x)): x, sigmoid out, the product = 3
#   relu: its output, which is the down projection's input = 1
#   silu (non-gated): its input; the down projection's input = 2
#   swiglu (down(silu(gate(x)) * up(x))): gate out, silu out, up out, the product = 4
#   gated_gelu / gated_gelu_new (T5 v1.1's "gated-gelu", Gemma's GeGLU): the activation's own
#     tensors, its output and the up projection (kept by the product), the product = 3 + own
MLP_SAVES = {
    "gelu": 2,
    "gelu_tanh": 2,
    "gelu_new": 5,
    "gelu_fast": 5,
    "quick_gelu": 3,
    "relu": 1,
    "silu": 2,
    "swiglu": 4,
    "gated_gelu": 4,
    "gated_gelu_new": 7,
}
GATED = ("swiglu", "gated_gelu", "gated_gelu_new")
# What a forward without autograd holds at once at the MLP's widest point, in tensors of the
# intermediate width (measured on the CPU, transformers 5.25): the up projection's output and
# the temporaries the activation makes before they are freed.
MLP_LIVE = {
    "gelu": 2,
    "gelu_tanh": 2,
    "gelu_new": 4,
    "gelu_fast": 4,
    "quick_gelu": 3,
    "relu": 2,
    "silu": 2,
    "swiglu": 3,
    "gated_gelu": 3,
    "gated_gelu_new": 5,
}
ACTIVATIONS = tuple(MLP_SAVES)


@dataclass(frozen=True)
class Dtypes:
    """The bytes per element of what a job's operations produce and save."""

    matmul: int  # outputs of matmuls (and what follows them): 2 under autocast or in 16 bits
    residual: int  # the residual stream and norm inputs: 4 under autocast, 2 in pure 16 bits
    autocast: bool  # Linear inputs are cast (and saved) per Linear; weights copied once
    device: Device
    frozen_linears: bool  # LoRA / QLoRA: the base Linears (and norms) are frozen
    adapter: int = 4  # bytes of a LoRA adapter's weights: fp32 (PEFT's default), bf16 (QLoRA)

    @property
    def adapter_casts(self) -> bool:
        """PEFT casts an adapter's input to the adapter's dtype, one copy per adapter."""
        return self.frozen_linears and self.matmul != self.adapter

    def mask(self, elem: int) -> int:
        """A dropout mask element over a tensor of ``elem`` bytes: CUDA's bool mask, or the CPU's
        noise tensor in the input's dtype."""
        return 1 if self.device == "cuda" else elem


def norm(kind: str, width: int, dt: Dtypes) -> int:
    """Bytes a norm saves per row of ``width``, not counting what reads its output."""
    if kind == "layernorm":
        return dt.residual * width + 8  # the input, mean and rstd (fp32)
    # HF's RMSNorm: x.to(float32) (saved by pow), rsqrt (fp32), the normalized tensor (saved by
    # the weight multiply, in the input dtype, unless the weight is frozen)
    return 4 * width + 4 + (0 if dt.frozen_linears else dt.residual * width)


def linear_inputs(width: int, consumers: int, dt: Dtypes, *, fresh_16bit: bool = False) -> int:
    """Bytes saved for Linears reading one tensor of ``width`` per row.

    fp32 in, no autocast: one copy serves every consumer. Under autocast, one 16-bit cast per
    consumer. ``fresh_16bit``: the tensor is already 16 bits (a matmul's output) and is saved
    once. With LoRA the frozen base Linear saves nothing, but its adapter's A reads the same
    tensor and saves it, once (no adapter dropout).
    """
    if consumers == 0:
        return 0
    if dt.frozen_linears:  # each adapter's A keeps its input, cast to the adapter's dtype
        return dt.adapter * width * (consumers if dt.adapter_casts else 1)
    if fresh_16bit or not dt.autocast:
        return dt.matmul * width
    return 2 * width * consumers


@dataclass(frozen=True)
class Attention:
    heads: int
    kv_heads: int
    head_dim: int
    fused_qkv: bool  # one Linear for q, k, v (GPT-2)
    rotary: bool
    dropout: float  # on the probabilities, while training
    window: int | None = None  # sliding window (Mistral)
    bias: bool = False  # a learned additive bias on the scores (T5's relative positions)
    fp32_softmax: bool = False  # the eager softmax is fp32 in any precision (Llama family, T5)


def attention(
    a: Attention, s: int, dt: Dtypes, *, fused: bool, training: bool, keys: int | None = None
) -> tuple[float, str]:
    """(bytes per query token, "fused" | "math") of one attention core over sequences of ``s``
    queries and ``keys`` keys (cross-attention; default: self-attention): q, k, v, what the kernel
    keeps, and the output the output projection reads."""
    keys = keys or s
    c = dt.matmul
    q = a.heads * a.head_dim
    kv = a.kv_heads * a.head_dim
    per_key = keys / s  # k and v belong to the keys: per query token they weigh keys / s
    dropping = training and a.dropout > 0
    # SDPA with dropout, or with a bias that needs its gradient (T5), runs the math path on the
    # CPU; CUDA's fused kernels take both.
    if fused and not ((dropping or a.bias) and dt.device == "cpu"):
        windowed = a.window is not None and keys > a.window
        # grouped heads reach the kernel as they are (enable_gqa); an explicit mask (a sliding
        # window) makes the implementation repeat k and v to every head
        k_v = 2 * (q if windowed else kv) * per_key
        per_token = c * (q + k_v) + c * q + 4 * a.heads  # q, k, v, the output, log-sum-exp
        if a.fused_qkv and dt.device == "cpu" and keys == s:
            # q, k, v are views of one fused output: the CPU kernel keeps it and copies two of
            # them (measured on GPT-2)
            per_token = c * 5 * q + c * q + 4 * a.heads
        if windowed:
            per_token += 4 * keys  # the window's float mask, b x 1 x s x s
        return per_token, "fused"
    # The math path: q @ k^T keeps q and k (repeated to every head), softmax its output,
    # probabilities @ v the probabilities and v; the output is copied for the output projection.
    out = c
    if fused and dt.device == "cpu" and c == 2:
        c = 4  # SDPA's math path on the CPU computes 16-bit inputs in fp32; its output is cast back
    per_token = c * q + 2 * c * q * per_key + out * q
    eff = min(keys, a.window) if a.window else keys
    # softmax runs in fp32 under autocast (both devices' fp32 op lists), when the implementation
    # asks for it (Llama's softmax(dtype=float32)) or when an fp32 bias promotes the scores (T5)
    p = 4 if (c == 4 or dt.autocast or a.fp32_softmax) else 2
    probs = p  # the softmax output, kept by its backward
    if dropping:
        probs += dt.mask(p)
    if p != c:
        probs += c  # the 16-bit copy the matmul with v reads (and keeps)
    elif dropping:
        probs += p  # the dropped probabilities, which the matmul with v keeps
    return per_token + probs * a.heads * eff, "math"
