"""Small real PyTorch networks (an MLP, a conv-BN-ReLU stack) built and trained one step on the
CPU, with every byte counted. (Transformers are measured on the real Hugging Face classes:
benchmarks/transformers_harness.py.)

Used by tests/test_estimate_accuracy.py and benchmarks/estimate_vs_measured.py to hold
`advisor estimate` to what PyTorch really allocates: parameters, gradients, optimizer state after
a step, and the tensors autograd saves for backward (each storage counted once; parameter and
buffer storages are weights, not activations).
"""

from __future__ import annotations

from contextlib import nullcontext
from itertools import pairwise
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


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
        "activations": activations,
    }
