"""How big the job is, in the model's own unit (pure): tokens for language models, images x epochs
for image models, steps for a diffusion UNet. Each default is stated with the job."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from advisor.errors import AdvisorError
from advisor.estimate.job import Job
from advisor.knowledge.models import ModelSpec

Unit = Literal["tokens", "images", "steps"]
IMAGENET_TRAIN_IMAGES = 1_281_167  # ILSVRC-2012 training set (https://image-net.org/download.php)
# Defaults, each a common recipe: ResNet-50 trains 90 epochs on ImageNet (He et al. 2016; the
# torchvision reference recipe); a fine-tune of an image model a few epochs; a language-model
# fine-tune about 100M tokens (e.g. 50k examples x 2k tokens); a diffusion fine-tune 5k steps.
DEFAULT_TOKENS = {"train": 1e9, "finetune": 1e8, "lora": 1e8, "qlora": 1e8, "inference": 1e8}
DEFAULT_EPOCHS = {"train": 90.0, "finetune": 10.0, "inference": 1.0}
DEFAULT_STEPS = 5_000
DIFFUSION_STEPS_PER_IMAGE = 50  # a sampler's UNet evaluations per generated image (assumed)


class JobSize(BaseModel):
    model_config = ConfigDict(frozen=True)

    unit: Unit
    amount: float  # tokens, images (x epochs), or steps
    epochs: float | None = None
    images_per_epoch: int | None = None
    default: bool  # True: advisor chose the size (and says so)


def unit_of(model: ModelSpec, job: Job) -> Unit:
    if model.kind in ("cnn", "vision_transformer"):
        return "images"
    if model.kind == "unet":
        return "images" if job.task == "inference" else "steps"
    return "tokens"


def job_size(
    model: ModelSpec,
    job: Job,
    *,
    tokens: float | None = None,
    images: int | None = None,
    epochs: float | None = None,
    steps: int | None = None,
) -> JobSize:
    unit = unit_of(model, job)
    given = {"--tokens": tokens, "--images": images, "--epochs": epochs, "--steps": steps}
    allowed = {"tokens": {"--tokens"}, "images": {"--images", "--epochs"}, "steps": {"--steps"}}[unit]
    wrong = [name for name, value in given.items() if value is not None and name not in allowed]
    if wrong:
        raise AdvisorError(
            f"{' and '.join(wrong)} does not size a {model.kind.replace('_', ' ')} job; it is measured in "
            f"{unit} ({', '.join(sorted(allowed))})"
        )
    for name, value in given.items():
        if value is not None and value <= 0:
            raise AdvisorError(f"{name} must be positive, got {value:g}")
    if unit == "tokens":
        amount = tokens if tokens is not None else DEFAULT_TOKENS[job.task]
        return JobSize(unit=unit, amount=amount, default=tokens is None)
    if unit == "steps":
        return JobSize(unit=unit, amount=float(steps or DEFAULT_STEPS), default=steps is None)
    per_epoch = images or IMAGENET_TRAIN_IMAGES
    task = job.task if job.task in DEFAULT_EPOCHS else "finetune"
    count = epochs if epochs is not None else DEFAULT_EPOCHS[task]
    return JobSize(
        unit=unit,
        amount=per_epoch * count,
        epochs=count,
        images_per_epoch=per_epoch,
        default=images is None and epochs is None,
    )


def per_second(unit: Unit, model: ModelSpec, job: Job, samples_or_tokens: float) -> float:
    """The speed model's rate (tokens/s, or samples/s for non-transformers) in the job's unit."""
    if unit == "steps":
        return samples_or_tokens / job.batch  # one optimizer step is one batch
    if unit == "images" and model.kind == "unet":
        return samples_or_tokens / DIFFUSION_STEPS_PER_IMAGE
    return samples_or_tokens
