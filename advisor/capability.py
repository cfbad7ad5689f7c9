"""What one GPU can do, as `advisor check` reports it: its own module so that the check report
does not import the estimator and recommender to name the type."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Capability(BaseModel):
    model_config = ConfigDict(frozen=True)

    task: str  # "inference (fp16)", "LoRA fine-tuning (bf16)", ...
    largest: str | None  # the largest preset that fits, or None
    memory_bytes: int | None
