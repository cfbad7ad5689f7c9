"""Model families: each module gives what the estimate needs of one kind of model (pure).

- ``params(m)``: (total, active per token) parameters, counted as the implementation has them;
- ``activations(m, job, s)``: what a training step saves for backward (``Activations``);
- ``all_matrices(m)`` / ``head_matrices(m)``: (in, out, count) of the block and head Linears
  (LoRA adapts the blocks'; autocast copies all of them; Adafactor factors them);
- ``kv_cache(m, job, s)`` and ``prefill(m, job, s)``: inference's cache and working set.

A new family is one module here and one entry in FAMILIES.
"""

from __future__ import annotations

from typing import Protocol

from advisor.estimate.families import convnet, decoder, encoder, encoder_decoder
from advisor.estimate.families.base import Activations
from advisor.estimate.job import Job
from advisor.knowledge.models import Kind, ModelSpec

Matrices = list[tuple[int, int, int]]


class Family(Protocol):
    def params(self, m: ModelSpec) -> tuple[int, int]: ...
    def activations(self, m: ModelSpec, job: Job, s: int) -> Activations: ...
    def all_matrices(self, m: ModelSpec) -> Matrices: ...
    def head_matrices(self, m: ModelSpec) -> Matrices: ...
    def kv_cache(self, m: ModelSpec, job: Job, s: int) -> int: ...
    def prefill(self, m: ModelSpec, job: Job, s: int) -> tuple[int, str]: ...


FAMILIES: dict[Kind, Family] = {
    "decoder": decoder,
    "encoder": encoder,
    "vision_transformer": encoder,
    "encoder_decoder": encoder_decoder,
    "mlp": convnet,
    "cnn": convnet,
    "unet": convnet,
}


def family(m: ModelSpec) -> Family:
    return FAMILIES[m.kind]
