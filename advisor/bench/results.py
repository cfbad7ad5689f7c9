"""Bench results as data, compared with the card database (pure)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, computed_field

# Repeats that differ by more than this (max - min over the median) mean the figure is not one
# number: another process shares the device, or its clocks moved (heat, power cap, boost).
NOISY_SPREAD = 0.25


def noisy(spread: float | None) -> bool:
    return spread is not None and spread > NOISY_SPREAD


class Measured(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # fp32 / tf32 / fp16 / bf16, or device_copy / host_to_device_pinned ...
    value: float | None = None  # TFLOPS or GB/s
    unit: str
    spread: float | None = None  # (max - min) / median over the repeats
    datasheet: float | None = None
    fraction_of_datasheet: float | None = None
    detail: str | None = None  # matrix size, bytes, or why it is unavailable

    @computed_field  # type: ignore[prop-decorator]
    @property
    def noisy(self) -> bool:
        return noisy(self.spread)


class TrainingResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    params: int
    batch: int
    requested_batch: int
    seq: int
    precision: str
    tokens_per_second: float
    step_seconds: float
    spread: float
    steps: int
    loss_first: float
    loss_last: float
    achieved_tflops: float
    mfu: float | None = None  # against the card's dense peak for this precision
    peak_memory_bytes: int | None = None
    predicted_memory_bytes: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def noisy(self) -> bool:
        return noisy(self.spread)


class DeviceResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    device: str  # cpu, cuda:0
    name: str
    card: str | None = None  # matched in the card database
    torch: str | None = None
    matmul: list[Measured] = []
    bandwidth: list[Measured] = []
    training: TrainingResult | None = None
    cpu_training_tokens_per_second: float | None = None
    gpu_over_cpu: float | None = None
    notes: list[str] = []
    error: str | None = None


class BenchReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    host: str
    gpu_uuids: list[str] = []  # with the host name, which machine this was (NVML UUIDs)
    taken_at: str
    python: str
    budget_s: float
    interrupted: bool = False
    devices: list[DeviceResult]
