"""`advisor estimate`: memory per GPU and speed on a card, as one result model (pure)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from advisor.estimate.job import Job, default_seq, validate_job
from advisor.estimate.memory import MemoryEstimate, estimate_memory, fits
from advisor.estimate.speed import SpeedEstimate, estimate_speed
from advisor.knowledge.cards import Card
from advisor.knowledge.models import ModelSpec


class Fit(BaseModel):
    model_config = ConfigDict(frozen=True)

    card: str
    card_memory_bytes: int
    usable_bytes: int
    fits: bool
    free_bytes: int  # usable minus total; negative when it does not fit


class EstimateReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: ModelSpec
    job: Job
    seq: int
    memory: MemoryEstimate
    fit: Fit | None = None
    speed: SpeedEstimate | None = None


def estimate(
    model: ModelSpec,
    job: Job,
    card: Card | None = None,
    *,
    mfu: float | None = None,
    mfu_source: str | None = None,
) -> EstimateReport:
    validate_job(job, model)
    seq = job.seq or default_seq(model)
    memory = estimate_memory(model, job, seq)
    fit = speed = None
    if card is not None:
        from advisor.estimate.memory import USABLE_FRACTION

        usable = int(card.memory_bytes * USABLE_FRACTION)
        fit = Fit(
            card=card.name,
            card_memory_bytes=card.memory_bytes,
            usable_bytes=usable,
            fits=fits(memory.total, card.memory_bytes),
            free_bytes=usable - memory.total,
        )
        speed = estimate_speed(
            model,
            job,
            seq,
            card,
            mfu=mfu,
            mfu_source=mfu_source,
            weights_bytes=memory.weights,
            kv_bytes=memory.kv_cache,
            trainable_params=memory.trainable_params,
        )
    return EstimateReport(model=model, job=job, seq=seq, memory=memory, fit=fit, speed=speed)
