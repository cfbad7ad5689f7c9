"""Real PyTorch models built and trained one step on the CPU, with every byte counted.

Used by tests/test_estimate_accuracy.py and benchmarks/estimate_vs_measured.py to hold
`advisor estimate` to what PyTorch really allocates: parameters, gradients, optimizer state after
a step, and the tensors autograd saves for backward (each storage counted once; parameter and
buffer storages are weights, not activations).
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


@dataclass(frozen=True)
class GPTConfig:
    vocab: int = 512
    hidden: int = 256
    layers: int = 4
    heads: int = 4
    kv_heads: int = 4
    intermediate: int = 1024
    mlp: str = "gelu"  # gelu | swiglu
    norm: str = "layernorm"  # layernorm | rmsnorm
    tie: bool = True


class RMSNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight, 1e-6)


class Block(nn.Module):
    def __init__(self, c: GPTConfig, attention: str) -> None:
        super().__init__()
        norm = nn.LayerNorm if c.norm == "layernorm" else RMSNorm
        self.c, self.attention = c, attention
        self.head_dim = c.hidden // c.heads
        self.ln1, self.ln2 = norm(c.hidden), norm(c.hidden)
        self.qkv = nn.Linear(c.hidden, (c.heads + 2 * c.kv_heads) * self.head_dim, bias=False)
        self.proj = nn.Linear(c.hidden, c.hidden, bias=False)
        if c.mlp == "swiglu":
            self.gate = nn.Linear(c.hidden, c.intermediate, bias=False)
        self.up = nn.Linear(c.hidden, c.intermediate, bias=False)
        self.down = nn.Linear(c.intermediate, c.hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        c, hd = self.c, self.head_dim
        q, k, v = self.qkv(self.ln1(x)).split([c.heads * hd, c.kv_heads * hd, c.kv_heads * hd], -1)
        q = q.view(b, s, c.heads, hd).transpose(1, 2)
        k = k.view(b, s, c.kv_heads, hd).transpose(1, 2)
        v = v.view(b, s, c.kv_heads, hd).transpose(1, 2)
        if c.kv_heads != c.heads:
            k = k.repeat_interleave(c.heads // c.kv_heads, dim=1)
            v = v.repeat_interleave(c.heads // c.kv_heads, dim=1)
        if self.attention == "sdpa":
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            mask = torch.ones(s, s, dtype=torch.bool, device=x.device).tril()
            att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            y = att @ v
        x = x + self.proj(y.transpose(1, 2).reshape(b, s, c.hidden))
        h = self.ln2(x)
        h = F.silu(self.gate(h)) * self.up(h) if c.mlp == "swiglu" else F.gelu(self.up(h))
        return x + self.down(h)


class GPT(nn.Module):
    def __init__(self, c: GPTConfig, attention: str = "sdpa", grad_checkpointing: bool = False):
        super().__init__()
        self.c, self.grad_checkpointing = c, grad_checkpointing
        self.embed = nn.Embedding(c.vocab, c.hidden)
        self.blocks = nn.ModuleList(Block(c, attention) for _ in range(c.layers))
        self.ln_f = nn.LayerNorm(c.hidden) if c.norm == "layernorm" else RMSNorm(c.hidden)
        self.head = nn.Linear(c.hidden, c.vocab, bias=False)
        if c.tie:
            self.head.weight = self.embed.weight

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        x = self.embed(idx)
        for block in self.blocks:
            x = checkpoint(block, x, use_reentrant=False) if self.grad_checkpointing else block(x)
        logits = self.head(self.ln_f(x))
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))


class MLP(nn.Module):
    def __init__(self, sizes: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(pairwise(sizes)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.net(x), targets)


class CNN(nn.Module):
    """conv3x3-BN-ReLU blocks, stride 2 where the channel count grows, global pool, classifier."""

    def __init__(self, channels: list[int], classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for a, b in pairwise(channels):
            stride = 2 if b != a else 1
            layers += [nn.Conv2d(a, b, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(channels[-1], classes)

    def forward(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        h = self.features(x).mean(dim=(2, 3))
        return F.cross_entropy(self.fc(h), targets)


def _storage_key(t: torch.Tensor) -> tuple[int, int]:
    s = t.untyped_storage()
    return s.data_ptr(), s.nbytes()


def measure_step(
    model: nn.Module,
    inputs: tuple[torch.Tensor, ...],
    *,
    optimizer: str = "adamw",
    autocast_dtype: torch.dtype | None = None,
    extra_activation_bytes: int = 0,
) -> dict[str, int]:
    """Bytes of weights, gradients, optimizer state and saved activations for one training step."""
    owned = {_storage_key(p) for p in model.parameters()} | {_storage_key(b) for b in model.buffers()}
    saved: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = _storage_key(t)
        if key not in owned and t.device.type != "meta":
            saved[key] = key[1]
        return t

    ctx = torch.autocast("cpu", dtype=autocast_dtype) if autocast_dtype else nullcontext()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), ctx:
        loss = model(*inputs)
    activations = sum(saved.values())
    loss.backward()
    opt: Any = (
        torch.optim.AdamW(model.parameters(), lr=1e-4)
        if optimizer == "adamw"
        else torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    )
    opt.step()
    params = list({id(p): p for p in model.parameters()}.values())
    state = sum(v.nbytes for s in opt.state.values() for v in s.values() if torch.is_tensor(v))
    return {
        "weights": sum(p.nbytes for p in params),
        "gradients": sum(p.grad.nbytes for p in params if p.grad is not None),
        "optimizer": state,
        "activations": activations + extra_activation_bytes,
    }


def measure_gpt(
    c: GPTConfig,
    batch: int,
    seq: int,
    *,
    attention: str = "sdpa",
    grad_checkpointing: bool = False,
    autocast_dtype: torch.dtype | None = None,
    optimizer: str = "adamw",
) -> dict[str, int]:
    torch.manual_seed(0)
    model = GPT(c, attention, grad_checkpointing)
    idx = torch.randint(0, c.vocab, (batch, seq))
    extra = 0
    if grad_checkpointing:
        # Backward recomputes one block at a time: its full activations are alive on top of the
        # checkpointed inputs. Measure one block the ordinary way.
        block = GPT(c, attention).blocks[0]
        x = torch.randn(batch, seq, c.hidden, requires_grad=True)
        one = measure_step(_Wrap(block), (x,), autocast_dtype=autocast_dtype)
        extra = one["activations"]
    return measure_step(
        model, (idx, idx), optimizer=optimizer, autocast_dtype=autocast_dtype, extra_activation_bytes=extra
    )


class _Wrap(nn.Module):
    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x).sum()
