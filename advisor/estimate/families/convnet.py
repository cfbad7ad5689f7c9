"""Networks without attention: a plain MLP, a conv3x3-BN-ReLU stack (the bench's CNN), and CNNs or
UNets known only by a planning figure per sample (pure)."""

from __future__ import annotations

import math
from itertools import pairwise

from advisor.estimate.families.base import Activations
from advisor.estimate.job import Job
from advisor.knowledge.models import ModelSpec

MIXED_KEEPS = 0.6  # planning figures: mixed precision assumed to keep 60% (not measured)
INFERENCE_KEEPS = 0.1  # inference keeps only the live feature maps (assumed)


def params(m: ModelSpec) -> tuple[int, int]:
    return m.params, m.params


def _mlp(m: ModelSpec, b: int) -> int:
    return 4 * b * sum(m.layer_sizes or []) + 8 * b  # every layer's input, log-softmax, targets


def _cnn(m: ModelSpec, b: int) -> int:
    ch = m.channels or []
    side = m.image_size or 0
    total = 4 * b * ch[0] * side * side  # the image batch, saved by the first conv
    for prev, cur in pairwise(ch):
        if cur != prev:
            side = math.ceil(side / 2)
        total += 2 * 4 * b * cur * side * side  # conv output (saved by BN) + ReLU output
        total += 2 * 4 * cur  # BN's saved mean and inverse std
    return total + 4 * b * ch[-1] + 4 * b * (m.num_classes or 0) + 8 * b


def activations(m: ModelSpec, job: Job, s: int) -> Activations:
    b = job.batch
    if m.kind == "mlp":
        saved, how = _mlp(m, b), "inputs of each Linear + log-softmax, fp32"
    elif m.channels:
        saved, how = _cnn(m, b), "conv outputs and ReLU outputs per block"
    else:
        per = m.activation_mib_per_sample or 0.0
        scale = (MIXED_KEEPS if job.mixed else 1.0) * (1.0 if job.training else INFERENCE_KEEPS)
        saved = int(per * 1024**2 * b * scale)
        how = f"{per:g} MiB per sample x {b} (a planning figure, not measured)"
    return Activations(saved=saved, one_block=0, logits=0, how=how)


def planning_note(m: ModelSpec) -> str | None:
    if m.channels or m.kind == "mlp":
        return None
    return (
        f"{m.display_name}: activations use a planning figure of {m.activation_mib_per_sample:g} "
        "MiB per sample (not measured; mixed precision assumed to keep 60%)"
    )


def all_matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    return []


def head_matrices(m: ModelSpec) -> list[tuple[int, int, int]]:
    return []


def kv_cache(m: ModelSpec, job: Job, s: int) -> int:
    return 0


def prefill(m: ModelSpec, job: Job, s: int) -> tuple[int, str]:
    acts = activations(m, job, s)
    return acts.saved, acts.how
