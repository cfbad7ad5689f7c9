"""One card for one job: how it runs it, how fast, what it costs to buy or rent (pure).

The pure layer gives numbers and codes; advisor/render/recommend.py writes the prose.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from advisor.choices import Host
from advisor.errors import AdvisorError
from advisor.estimate.job import Job
from advisor.estimate.report import EstimateReport, estimate
from advisor.knowledge.cards import Card
from advisor.knowledge.models import ModelSpec
from advisor.knowledge.prices import CloudPrice, PriceBook, StreetPrice
from advisor.recommend.hosts import HARD_MAX_GPUS, Need, is_module, needs, psu_watts
from advisor.recommend.jobsize import JobSize, Unit, per_second

# How the job is spread over the GPUs: one GPU, data parallel, ZeRO-3/FSDP shards, tensor
# parallel inference, or the layers split over the GPUs in turn.
Plan = Literal["single", "ddp", "zero3", "tensor", "layers"]
# Why a card ranks where it does.
Verdict = Literal[
    "best_value",  # the most throughput per dollar that fits as asked
    "fastest",  # the fastest that fits as asked within the budget
    "fits",  # fits as asked; less value than the winner
    "tight",  # fits with under 10% of the memory to spare: a longer sequence or batch will not
    "fp16_only",  # runs the bf16 job in fp16 only (no bf16), while bf16 cards fit
    "lighter_job",  # fits only as a lighter job (LoRA for a fine-tune, 4-bit for fp16)
    "over_budget",
    "no_price",  # no purchase price known (rent it)
    "needs_host",  # needs a host the buyer does not have (an SXM baseboard, server airflow)
    "no_fit",  # does not fit even as the lightest job on the most GPUs allowed
    "more_gpus",  # fits only sharded over several GPUs while one GPU of another card does
]

HEADROOM = 0.10  # a fit with less memory to spare than this is tight
# US average residential, 2024: 16.48 cents/kWh (EIA, Electric Power Monthly table 5.3, via
# ../shared/research/issue14-prices.md; EIA forecast 2025 ~2 % higher).
ELECTRICITY_USD_PER_KWH = 0.165
# A host without GPUs (low confidence, from build guides in the same notes: a one-GPU desktop
# ~$500, a two-3090 desktop ~$2,000, a four-GPU server board ~$1,300 without CPU and memory).
HOST_USD = {"desktop": 1_500.0, "workstation": 5_000.0, "server": 15_000.0}


class Option(BaseModel):
    model_config = ConfigDict(frozen=True)

    card: str
    segment: str
    form_factor: str
    gpus: int
    plan: Plan
    task: str  # what runs: the task asked, or a lighter one
    precision: str
    degraded: bool  # a lighter job than asked
    precision_fallback: bool = False  # fp16 for bf16: the card has no bf16
    fits: bool
    memory_per_gpu_bytes: int
    usable_per_gpu_bytes: int
    unit: Unit
    throughput: float | None = None  # job units per second, all GPUs
    scaling: float = 1.0  # share of n GPUs' speed kept after communication
    job_hours: float | None = None
    mfu_source: str | None = None
    price: StreetPrice | None = None  # one card (or one GPU's share of a system)
    buy_usd: float | None = None  # all the cards
    host_usd: float = 0.0  # a host to put them in (none for a system price)
    rent: CloudPrice | None = None  # on-demand
    rent_interruptible: CloudPrice | None = None
    rent_usd_for_job: float | None = None
    power_w: int = 0
    break_even_hours: float | None = None  # hours of use after which buying beats renting
    value: float | None = None  # throughput per $1k of cards
    headroom: float = 0.0  # share of the usable memory left free
    needs: list[Need] = []
    psu_w: int | None = None
    verdict: Verdict = "fits"
    vs_winner: float | None = None  # the winner's value (or speed) over this option's


def attempts(job: Job, card: Card, max_gpus: int, *, layer_split: bool = False) -> list[tuple[Plan, Job]]:
    """Ways to run the job on ``card``, most faithful first; each on 1 GPU, then on more.
    Inference over several GPUs is tensor parallel (vLLM, TGI) or, on a desktop, the layers split
    over the cards in turn (llama.cpp's and ollama's default)."""
    counts = [n for n in (2, 4, 8) if n <= max_gpus]
    if job.precision == "bf16" and card.bf16_tensor_tflops is None:
        job = job.model_copy(update={"precision": "fp16"})  # the same job, in the precision it has

    def spread(j: Job) -> list[tuple[Plan, Job]]:
        out: list[tuple[Plan, Job]] = [("single", j)]
        if j.training:
            out += [("zero3", j.model_copy(update={"gpus": n, "sharding": "zero3"})) for n in counts]
        else:
            split: Plan = "layers" if layer_split else "tensor"
            out += [(split, j.model_copy(update={"gpus": n, "split": split})) for n in counts]
        return out

    out = spread(job)
    lighter: list[Job] = []
    half = "fp16" if job.precision == "fp16" else "bf16"
    if job.task in ("train", "finetune"):
        lora = job.model_copy(update={"task": "lora", "precision": half, "grad_checkpointing": True})
        lighter += [lora, lora.model_copy(update={"task": "qlora"})]
    elif job.task == "lora":
        lighter.append(job.model_copy(update={"task": "qlora", "precision": half}))
    elif job.task == "inference":
        lighter += [job.model_copy(update={"precision": p}) for p in ("int8", "int4") if p != job.precision]
    for j in lighter:
        out += spread(j)
    return out


def evaluate(
    model: ModelSpec,
    job: Job,
    card: Card,
    *,
    size: JobSize,
    prices: PriceBook,
    host: Host,
    max_gpus: int,
    new_only: bool = False,
    mfu: tuple[float, str] | None = None,
    gpus_fixed: int | None = None,
) -> Option:
    """The most faithful way ``card`` runs the job, on as few GPUs as it needs."""
    cap = min(max_gpus, HARD_MAX_GPUS[host] if not is_module(card) else 8)
    last: tuple[Plan, EstimateReport] | None = None
    tight: tuple[Plan, EstimateReport] | None = None  # a fit with little room: more GPUs may do better
    for plan, attempt in attempts(job, card, gpus_fixed or cap, layer_split=host != "server"):
        if tight is not None and (attempt.task, attempt.precision) != (
            tight[1].job.task,
            tight[1].job.precision,
        ):
            break  # no more GPUs for the job that fits tightly: keep that, not a lighter job
        if gpus_fixed is not None and attempt.gpus not in (1, gpus_fixed):
            continue
        if gpus_fixed and gpus_fixed > 1 and attempt.gpus == 1:
            if not attempt.training:
                continue
            attempt, plan = attempt.model_copy(update={"gpus": gpus_fixed}), "ddp"
        try:
            report = estimate(
                model, attempt, card, mfu=mfu[0] if mfu else None, mfu_source=mfu[1] if mfu else None
            )
        except AdvisorError:
            continue  # e.g. LoRA of a CNN
        last = (plan, report)
        if report.fit and report.fit.fits:
            if 1 - report.memory.total / report.fit.usable_bytes >= HEADROOM:
                break
            tight = tight or last
    if tight is not None and not (last and last[1].fit and last[1].fit.fits):
        last = tight
    if last is None:
        raise AdvisorError(f"{model.display_name} cannot run as {job.task} on {card.name}")
    plan, report = last
    return _option(model, job, card, plan, report, size, prices, host, new_only)


def _option(
    model: ModelSpec,
    job: Job,
    card: Card,
    plan: Plan,
    report: EstimateReport,
    size: JobSize,
    prices: PriceBook,
    host: Host,
    new_only: bool,
) -> Option:
    ran = report.job
    fit, speed, n = report.fit, report.speed, ran.gpus
    assert fit is not None
    rate = None
    if speed is not None and not speed.unavailable:
        raw = speed.tokens_per_second if model.is_transformer else speed.samples_per_second
        rate = per_second(size.unit, model, ran, raw) if raw else None
    hours = size.amount / rate / 3600 if rate else None
    price = prices.buy(card.name, new_only=new_only, system=is_module(card))
    if price is None and card.launch_price_usd and not new_only:
        price = StreetPrice(
            card=card.name,
            condition="new",
            usd=card.launch_price_usd,
            date=f"{card.release_year}-01",
            source=card.sources[0],
            confidence="low",
            basis="launch",
            note=f"launch price ({card.release_year}); no market price known",
        )
    buy_usd = price.usd * n if price else None
    if price is not None and price.system_gpus:  # modules come in whole systems
        systems = -(-n // price.system_gpus)
        buy_usd = price.usd * price.system_gpus * systems
    host_usd = 0.0 if (price is not None and price.basis == "system") else HOST_USD[host]
    rent = prices.rent(card.name)
    cheap = prices.rent(card.name, "interruptible")
    power_w = card.tdp_w * n + 300
    rent_job = rent.usd_per_gpu_hour * n * hours if rent and hours else None
    power_usd_h = power_w / 1000 * ELECTRICITY_USD_PER_KWH
    margin = rent.usd_per_gpu_hour * n - power_usd_h if rent else 0.0
    break_even = (buy_usd + host_usd) / margin if buy_usd and rent and margin > 0 else None
    degraded = ran.task != job.task or (ran.precision != job.precision and ran.precision in ("int8", "int4"))
    fallback = job.precision == "bf16" and ran.precision == "fp16"
    if plan == "single" and n > 1:
        plan = "ddp"
    if plan == "tensor" and ran.split == "layers":
        plan = "layers"
    return Option(
        card=card.name,
        segment=card.segment,
        form_factor=card.form_factor,
        gpus=n,
        plan=plan,
        task=ran.task,
        precision=ran.precision,
        degraded=degraded,
        precision_fallback=fallback,
        fits=fit.fits,
        memory_per_gpu_bytes=report.memory.total,
        usable_per_gpu_bytes=fit.usable_bytes,
        unit=size.unit,
        throughput=rate,
        scaling=speed.scaling if speed else 1.0,
        job_hours=hours,
        mfu_source=speed.utilization_source if speed else None,
        price=price,
        buy_usd=buy_usd,
        host_usd=host_usd,
        rent=rent,
        rent_interruptible=cheap,
        rent_usd_for_job=rent_job,
        power_w=power_w,
        break_even_hours=break_even,
        value=rate / buy_usd * 1000 if rate and buy_usd else None,
        headroom=1 - report.memory.total / fit.usable_bytes if fit.usable_bytes else 0.0,
        needs=needs(card, host, n),
        psu_w=psu_watts(card, n) if not is_module(card) else None,
    )
