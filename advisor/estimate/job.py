"""What the user wants to run: the job options shared by `estimate` and `recommend`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.choices import Attention, Optimizer, Precision, Sharding, Task
from advisor.errors import AdvisorError
from advisor.knowledge.models import ModelSpec

TRAINING: tuple[str, ...] = ("train", "finetune", "lora", "qlora")


class Job(BaseModel):
    """One configuration. ``batch`` is per GPU (the micro-batch one GPU holds at once)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Task = "finetune"
    precision: Precision = "bf16"
    optimizer: Optimizer = "adamw"
    batch: int = Field(default=1, ge=1, le=1_000_000)
    seq: int | None = Field(default=None, ge=1, le=10_000_000)
    target_seq: int | None = Field(default=None, ge=1, le=10_000_000)  # encoder-decoder targets
    grad_checkpointing: bool = False
    attention: Attention = "sdpa"
    gpus: int = Field(default=1, ge=1, le=100_000)
    sharding: Sharding = "none"
    lora_rank: int = Field(default=16, ge=1, le=4096)
    # inference on several GPUs: tensor parallel (vLLM, TGI) or layers split in turn (llama.cpp)
    split: Literal["tensor", "layers"] = "tensor"
    # inference: the prompt's tokens the prefill takes at a time (vLLM's chunked prefill); None: all
    prefill_chunk: int | None = Field(default=None, ge=1, le=10_000_000)
    device: Literal["cuda", "cpu"] = "cuda"  # cpu: no CUDA context, CPU autocast op lists

    @property
    def training(self) -> bool:
        return self.task in TRAINING

    @property
    def mixed(self) -> bool:
        return self.training and self.precision in ("fp16", "bf16")


def validate_job(job: Job, model: ModelSpec) -> None:
    """Combinations that cannot run: one clear line each (exit 2 at the CLI)."""
    if job.task == "qlora" and job.precision not in ("bf16", "fp16"):
        raise AdvisorError(
            f"QLoRA computes in 16-bit over 4-bit weights: use --precision bf16 or fp16, not {job.precision}"
        )
    if job.training and job.task != "qlora" and job.precision in ("int8", "int4"):
        raise AdvisorError(
            f"cannot {job.task} in {job.precision}: quantized weights are for inference; use "
            "--task qlora to fine-tune over 4-bit weights"
        )
    if job.sharding != "none" and job.gpus < 2:
        raise AdvisorError(f"--sharding {job.sharding} needs --gpus 2 or more")
    if job.sharding != "none" and not job.training:
        raise AdvisorError("--sharding applies to training; inference splits weights with --gpus")
    if job.task in ("lora", "qlora") and not model.is_transformer:
        raise AdvisorError(f"{job.task} is for transformer models; {model.display_name} is a {model.kind}")
    if job.task == "inference" and job.optimizer != "adamw":
        raise AdvisorError("--optimizer has no meaning for inference")
    if job.prefill_chunk is not None and job.task != "inference":
        raise AdvisorError("--prefill-chunk applies to inference (the prompt's prefill)")
    if job.target_seq is not None and model.kind != "encoder_decoder":
        raise AdvisorError(
            f"--target-seq is the decoder's length of an encoder-decoder model; {model.display_name} "
            f"is a {model.kind.replace('_', ' ')}: use --seq"
        )
    if job.grad_checkpointing and not model.is_transformer:
        raise AdvisorError(
            f"--grad-checkpointing is modelled for transformer blocks; {model.display_name} is a {model.kind}"
        )
    if job.grad_checkpointing and not job.training:
        raise AdvisorError("--grad-checkpointing applies to training only")


def default_seq(model: ModelSpec) -> int:
    if model.kind == "vision_transformer" and model.image_size and model.patch_size:
        return (model.image_size // model.patch_size) ** 2 + 1
    return min(model.max_seq_len or 2048, 2048)
