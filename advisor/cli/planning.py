"""Commands about jobs: estimate, recommend, models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from advisor.choices import Device, FormFactor, Host, Segment, Sharding
from advisor.cli.app import (
    AttentionOpt,
    BatchOpt,
    CardsOpt,
    CheckpointOpt,
    JsonOpt,
    ModelArg,
    OptimizerOpt,
    PrecisionOpt,
    SeqOpt,
    TaskOpt,
    _database,
    _emit,
    _job,
    _run,
    app,
    finite,
)
from advisor.errors import AdvisorError


@app.command(short_help="Memory per GPU and speed of a job on a card.")
def estimate(
    model: ModelArg,
    task: TaskOpt = "finetune",
    precision: PrecisionOpt = "bf16",
    optimizer: OptimizerOpt = "adamw",
    batch: BatchOpt = 1,
    seq: SeqOpt = None,
    target_seq: Annotated[
        int | None,
        typer.Option(help="Encoder-decoder models (T5, BART): decoder tokens (default: --seq)."),
    ] = None,
    grad_checkpointing: CheckpointOpt = False,
    attention: AttentionOpt = "sdpa",
    device: Annotated[
        Device,
        typer.Option(
            case_sensitive=False, help="cpu: the CPU's kernels, no CUDA context (how advisor is tested)."
        ),
    ] = "cuda",
    gpus: Annotated[int, typer.Option(help="GPUs the job runs on.")] = 1,
    sharding: Annotated[
        Sharding, typer.Option(case_sensitive=False, help="ZeRO stage over --gpus (zero3 is FSDP).")
    ] = "none",
    lora_rank: Annotated[int, typer.Option(help="LoRA rank (all linear layers).")] = 16,
    prefill_chunk: Annotated[
        int | None,
        typer.Option(help="Inference: prompt tokens prefilled at a time (vLLM's chunked prefill)."),
    ] = None,
    card: Annotated[
        str | None, typer.Option(help='Check the fit and speed on a card: "3090", "a100 80 sxm".')
    ] = None,
    mfu: Annotated[
        float | None, typer.Option(help="Model-FLOPs utilization to assume (default 0.40 for training).")
    ] = None,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """How much memory a model needs per GPU, line by line, and how fast it runs on a card.

    Examples: `advisor estimate llama-2-7b --task lora --card 3090 --grad-checkpointing`,
    `advisor estimate 70B --task inference --precision fp16 --card "h100 sxm" --gpus 2`.
    """
    from advisor.estimate.report import EstimateReport
    from advisor.estimate.report import estimate as run_estimate
    from advisor.knowledge.models import resolve_model

    def compute() -> EstimateReport:
        spec = resolve_model(model)
        job = _job(
            task,
            precision,
            optimizer,
            batch,
            seq,
            grad_checkpointing,
            attention,
            gpus,
            sharding,
            lora_rank,
            target_seq,
            device,
            prefill_chunk,
        )
        finite("--mfu", mfu)
        if mfu is not None and not 0 < mfu <= 1:
            raise AdvisorError(f"--mfu must be between 0 and 1, got {mfu:g}")
        chosen = None
        if card is not None:
            from advisor.knowledge.match import find_card

            chosen = find_card(card, _database(cards).cards)
        used_mfu, source = mfu, "--mfu" if mfu is not None else None
        if chosen is not None and mfu is None and job.training:
            from advisor.bench.calibration import measured_mfu
            from advisor.estimate.speed import compute_dtype

            calibrated = measured_mfu(chosen.name, compute_dtype(job))
            if calibrated is not None:
                used_mfu, source = calibrated
        return run_estimate(spec, job, chosen, mfu=used_mfu, mfu_source=source)

    report = _run("estimate", as_json, compute)

    _emit("estimate", as_json, report, "advisor.render.estimate:render_estimate")


@app.command(short_help="Which GPU to buy or rent for a job and a budget.")
def recommend(
    model: ModelArg,
    task: TaskOpt = "finetune",
    precision: PrecisionOpt = "bf16",
    optimizer: OptimizerOpt = "adamw",
    batch: BatchOpt = 1,
    seq: SeqOpt = None,
    grad_checkpointing: Annotated[
        bool | None,
        typer.Option(
            "--grad-checkpointing/--no-grad-checkpointing",
            help="Recompute activations in backward (default: on for LoRA/QLoRA, as the recipes do).",
        ),
    ] = None,
    attention: AttentionOpt = "sdpa",
    tokens: Annotated[
        str | None,
        typer.Option(help="Language models: tokens to train on or generate (1B, 300M; default by task)."),
    ] = None,
    images: Annotated[
        int | None, typer.Option(help="Image models: images per epoch (default: ImageNet's 1,281,167).")
    ] = None,
    epochs: Annotated[
        float | None, typer.Option(help="Image models: epochs (default 90 to train, 10 to fine-tune).")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(help="Diffusion UNets: optimizer steps (default 5,000).")
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Most you will spend on cards (USD).")] = None,
    host: Annotated[
        Host | None,
        typer.Option(
            case_sensitive=False,
            help="What the cards go in (default: desktop; server with --segment datacenter).",
        ),
    ] = None,
    form_factor: Annotated[
        list[str] | None,
        typer.Option(
            "--form-factor",
            metavar="<" + "|".join(get_args(FormFactor)) + ">",
            help="Only cards of this form factor (repeatable).",
        ),
    ] = None,
    max_gpus: Annotated[
        int | None,
        typer.Option(help="Most cards in one machine (default: desktop 2, workstation 4, server 8)."),
    ] = None,
    segment: Annotated[
        Segment | None, typer.Option(case_sensitive=False, help="Only this market segment.")
    ] = None,
    new_only: Annotated[bool, typer.Option("--new-only", help="Only new cards (no used prices).")] = False,
    prices: Annotated[
        Path | None,
        typer.Option(
            help="Your own prices (YAML like data/prices.yaml); they win over the built-in ones.",
            dir_okay=False,
        ),
    ] = None,
    here: Annotated[bool, typer.Option(help="Include this machine's GPUs (NVML) as a row.")] = True,
    wide: Annotated[
        bool, typer.Option("--wide", help="More columns: rent, pay-off hours, scaling, needs.")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw price against speed to this file (PNG/SVG/PDF; needs matplotlib).", dir_okay=False
        ),
    ] = None,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which GPU to buy or rent for a job and a budget, and why each other card lost.

    Example: `advisor recommend llama-3.1-8b --task qlora --budget 800`.
    """
    from advisor.recommend import Recommendation
    from advisor.recommend import recommend as run_recommend

    def compute() -> Recommendation:
        from advisor.bench.calibration import measured_mfu
        from advisor.estimate.speed import compute_dtype
        from advisor.knowledge.models import parse_size, resolve_model
        from advisor.knowledge.prices import load_prices
        from advisor.recommend import job_size

        finite("--budget", budget)
        finite("--epochs", epochs)
        spec = resolve_model(model)
        notes: list[Any] = []
        ckpt = grad_checkpointing
        if ckpt is None:
            ckpt = task in ("lora", "qlora") and spec.is_transformer
            if ckpt:
                notes.append("checkpointing_assumed")
        job = _job(task, precision, optimizer, batch, seq, ckpt, attention, 1, "none", 16)
        count = None
        if tokens is not None:
            count = parse_size(tokens)
            if count is None:
                raise AdvisorError(f"--tokens must be a count like 1B or 300M, got {tokens!r}")
        size = job_size(spec, job, tokens=count, images=images, epochs=epochs, steps=steps)
        if size.default:
            notes.append("size_default")
        db = _database(cards).cards
        book = load_prices(prices)
        dtype = compute_dtype(job)
        calibration = {c.name: m for c in db if (m := measured_mfu(c.name, dtype)) is not None}
        current = _current_machine(db) if here else None
        return run_recommend(
            spec,
            job,
            db,
            book,
            size,
            budget_usd=budget,
            max_gpus=max_gpus,
            segment=segment,
            host=host,
            form_factors=tuple(form_factor or ()),
            new_only=new_only,
            calibration=calibration,
            current=current,
            notes=tuple(notes),
        )

    result = _run("recommend", as_json, compute)
    if plot is not None:
        from advisor.render.plot import plot_recommendation

        _run("recommend", as_json, lambda: plot_recommendation(result, plot))
    _emit("recommend", as_json, result, "advisor.render.recommend:render_recommendation", 12, wide)


def _current_machine(db: Any) -> Any:
    """(card, count) of this machine's most common GPU model, from NVML; None without GPUs."""
    from collections import Counter

    from advisor.knowledge.match import match_nvml
    from advisor.probe.nvml import probe_nvml

    found = [
        match_nvml(g.name.value or "", g.pci_device_id.value, db)
        for g in probe_nvml().gpus
        if g.status == "ok" and g.name.value
    ]
    counted = Counter(c.name for c in found if c is not None)
    if not counted:
        return None
    name, count = counted.most_common(1)[0]
    return next(c for c in db if c.name == name), count


@app.command(short_help="List the model presets (names to type whole).")
def models(
    wide: Annotated[bool, typer.Option("--wide", help="Every column, however wide the terminal.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the model presets `advisor estimate` and `recommend` know (names to type whole)."""
    from pydantic import RootModel

    from advisor.knowledge.models import ModelSpec, load_models

    presets = _run("models", as_json, load_models)
    _emit(
        "models",
        as_json,
        RootModel[list[ModelSpec]](list(presets)),
        "advisor.render.estimate:render_models",
        wide,
    )
