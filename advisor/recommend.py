"""Which GPU to buy or rent for a job, and what a machine can already do (pure)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from advisor.errors import AdvisorError
from advisor.estimate.job import Job, validate_job
from advisor.estimate.report import EstimateReport, estimate
from advisor.knowledge.cards import Card
from advisor.knowledge.models import ModelSpec
from advisor.knowledge.prices import CloudPrice, PriceBook, StreetPrice

GIB = 1024**3
SEGMENTS = ("consumer", "workstation", "datacenter")


class Option(BaseModel):
    """One card (times a count) running the job the way it fits."""

    model_config = ConfigDict(frozen=True)

    card: str
    segment: str
    gpus: int
    how: str  # "full", "full, 4 GPUs (zero3)", "LoRA", "QLoRA", "int4"
    degraded: bool = False  # runs a lighter job than asked (LoRA for a fine-tune, int4 for fp16)
    fits: bool
    memory_per_gpu_bytes: int
    usable_per_gpu_bytes: int
    tokens_per_second: float | None = None  # training throughput, or decode tokens/s
    job_hours: float | None = None
    mfu_source: str | None = None
    buy: StreetPrice | None = None
    buy_usd: float | None = None
    rent: CloudPrice | None = None
    rent_usd_for_job: float | None = None
    break_even_hours: float | None = None  # hours of use after which buying beats renting
    tokens_per_second_per_kusd: float | None = None
    tokens_per_second_per_kw: float | None = None
    verdict: str = ""


class MachineRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    description: str  # "2x GeForce RTX 3090"
    option: Option | None
    summary: str


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    task: str
    tokens: float  # job size: training tokens, or generated tokens for inference
    winner: Option | None
    options: list[Option]
    your_machine: MachineRow | None = None
    prices_newest: str | None = None
    prices_oldest: str | None = None
    notes: list[str] = []


def _attempts(job: Job, max_gpus: int) -> list[tuple[str, Job]]:
    """Ways to run the job, most faithful first."""
    first = {"train": "full", "finetune": "full", "lora": "LoRA", "qlora": "QLoRA"}.get(
        job.task, job.precision
    )
    out: list[tuple[str, Job]] = [(first, job)]
    counts = [n for n in (2, 4, 8) if n <= max_gpus]
    if job.task in ("train", "finetune"):
        out += [
            (f"full, {n} GPUs (zero3)", job.model_copy(update={"gpus": n, "sharding": "zero3"}))
            for n in counts
        ]
    if job.task == "inference":
        out += [(f"{job.precision}, {n} GPUs", job.model_copy(update={"gpus": n})) for n in counts]
        out += [(p, job.model_copy(update={"precision": p})) for p in ("int8", "int4") if p != job.precision]
    if job.task == "finetune":
        lora = job.model_copy(update={"task": "lora", "precision": "bf16", "optimizer": "adamw"})
        out += [("LoRA", lora), ("QLoRA", lora.model_copy(update={"task": "qlora"}))]
    if job.task == "lora":
        out.append(("QLoRA", job.model_copy(update={"task": "qlora"})))
    return out


def evaluate(
    model: ModelSpec,
    job: Job,
    card: Card,
    *,
    max_gpus: int,
    tokens: float,
    prices: PriceBook,
    new_only: bool,
    mfu: tuple[float, str] | None = None,
    gpus_fixed: int | None = None,
) -> Option:
    last: EstimateReport | None = None
    chosen_how = ""
    for how, attempt in _attempts(job, max_gpus):
        if gpus_fixed is not None and attempt.gpus not in (1, gpus_fixed):
            continue
        if gpus_fixed and gpus_fixed > 1 and attempt.gpus == 1 and attempt.training:
            attempt = attempt.model_copy(update={"gpus": gpus_fixed})  # data-parallel on them all
        try:
            report = estimate(
                model, attempt, card, mfu=mfu[0] if mfu else None, mfu_source=mfu[1] if mfu else None
            )
        except AdvisorError:
            continue  # e.g. LoRA on a CNN
        last, chosen_how = report, how
        if report.fit and report.fit.fits:
            break
    if last is None or last.fit is None:
        raise AdvisorError(f"{model.display_name} cannot run as {job.task} on {card.name}")
    fit, speed, n = last.fit, last.speed, last.job.gpus
    tps = speed.tokens_per_second if speed and not speed.unavailable else None
    if tps is None and speed and speed.samples_per_second:
        tps = speed.samples_per_second
    hours = tokens / tps / 3600 if tps else None
    buy = prices.buy(card.name, new_only=new_only)
    buy_usd = (
        buy.usd * n
        if buy
        else (card.launch_price_usd * n if card.launch_price_usd and not new_only else None)
    )
    rent = prices.rent(card.name)
    rent_job = rent.usd_per_gpu_hour * n * hours if rent and hours else None
    degraded = (last.job.task, last.job.precision) != (job.task, job.precision)
    return Option(
        card=card.name,
        segment=card.segment,
        degraded=degraded,
        gpus=n,
        how=chosen_how,
        fits=fit.fits,
        memory_per_gpu_bytes=last.memory.total,
        usable_per_gpu_bytes=fit.usable_bytes,
        tokens_per_second=tps,
        job_hours=hours,
        mfu_source=speed.utilization_source if speed else None,
        buy=buy,
        buy_usd=buy_usd,
        rent=rent,
        rent_usd_for_job=rent_job,
        break_even_hours=buy_usd / (rent.usd_per_gpu_hour * n) if buy_usd and rent else None,
        tokens_per_second_per_kusd=tps / buy_usd * 1000 if tps and buy_usd else None,
        tokens_per_second_per_kw=tps / (card.tdp_w * n) * 1000 if tps else None,
    )


def recommend(
    model: ModelSpec,
    job: Job,
    cards: tuple[Card, ...],
    prices: PriceBook,
    *,
    budget_usd: float | None = None,
    max_gpus: int = 8,
    segment: str | None = None,
    new_only: bool = False,
    tokens: float = 1e9,
    calibration: dict[str, tuple[float, str]] | None = None,
    current: tuple[Card, int] | None = None,
) -> Recommendation:
    if budget_usd is not None and budget_usd <= 0:
        raise AdvisorError(f"--budget must be a positive amount of USD, got {budget_usd:g}")
    if segment is not None and segment not in SEGMENTS:
        raise AdvisorError(f"unknown segment {segment!r}; choose one of: {', '.join(SEGMENTS)}")
    if not 1 <= max_gpus <= 64:
        raise AdvisorError(f"--max-gpus must be between 1 and 64, got {max_gpus}")
    validate_job(job, model)
    calibration = calibration or {}
    pool = [c for c in cards if segment is None or c.segment == segment]
    options = [
        evaluate(
            model,
            job,
            c,
            max_gpus=max_gpus,
            tokens=tokens,
            prices=prices,
            new_only=new_only,
            mfu=calibration.get(c.name),
        )
        for c in pool
    ]
    eligible = [
        o
        for o in options
        if o.fits
        and o.buy_usd is not None
        and (budget_usd is None or o.buy_usd <= budget_usd)
        and o.tokens_per_second_per_kusd is not None
    ]
    # The job as asked beats a lighter stand-in (QLoRA for LoRA, int4 for fp16), whatever the price.
    faithful = [o for o in eligible if not o.degraded] or eligible
    winner = max(
        faithful, key=lambda o: (o.tokens_per_second_per_kusd, o.tokens_per_second or 0), default=None
    )
    ranked = sorted(options, key=lambda o: _rank(o, winner, budget_usd))
    verdicts = [o.model_copy(update={"verdict": _why(o, winner, budget_usd)}) for o in ranked]
    win = next((o for o in verdicts if winner and o.card == winner.card), None)
    mine = None
    if current is not None:
        mine = _your_machine(model, job, current, tokens, prices, calibration, win)
    dated = [p.date for p in prices.street] + [p.date for p in prices.cloud]
    notes = []
    if win is None:
        notes.append(
            "nothing both fits and is within the budget with a known price"
            + ("; raise --budget or --max-gpus, or rent" if budget_usd else "")
        )
    return Recommendation(
        model=model.display_name,
        task=job.task,
        tokens=tokens,
        winner=win,
        options=verdicts,
        your_machine=mine,
        prices_newest=max(dated) if dated else None,
        prices_oldest=min(dated) if dated else None,
        notes=notes,
    )


def _rank(o: Option, winner: Option | None, budget: float | None) -> tuple[int, float]:
    if winner is not None and o.card == winner.card:
        return (0, 0.0)
    if not o.fits:
        return (4, -(o.usable_per_gpu_bytes * o.gpus))
    if o.buy_usd is None or (budget is not None and o.buy_usd > budget):
        return (3, -(o.tokens_per_second or 0))
    return (2 if o.degraded else 1, -(o.tokens_per_second_per_kusd or 0))


def _why(o: Option, winner: Option | None, budget: float | None) -> str:
    if winner is not None and o.card == winner.card:
        return (
            f"winner: fits ({o.how}), the most throughput per dollar "
            f"({o.tokens_per_second_per_kusd:,.0f} tokens/s per $1k)"
        )
    if not o.fits:
        return (
            f"does not fit: needs {o.memory_per_gpu_bytes / GIB:.0f} GiB per GPU even as "
            f"'{o.how}', has {o.usable_per_gpu_bytes / GIB:.0f} usable"
        )
    if o.buy_usd is None:
        rent = f"; rent at ${o.rent.usd_per_gpu_hour:.2f}/GPU-hour" if o.rent else ""
        return f"fits ({o.how}) but has no known purchase price{rent}"
    if budget is not None and o.buy_usd > budget:
        return f"over budget: ${o.buy_usd:,.0f} for {o.gpus} > ${budget:,.0f}"
    if o.degraded and winner is not None and not winner.degraded:
        return f"fits only as {o.how}, a lighter job than asked"
    if winner is None or not o.tokens_per_second_per_kusd or not winner.tokens_per_second_per_kusd:
        return f"fits ({o.how})"
    ratio = winner.tokens_per_second_per_kusd / o.tokens_per_second_per_kusd
    faster = (o.tokens_per_second or 0) / (winner.tokens_per_second or 1)
    speed = f"; {faster:.1f}x the winner's speed" if faster > 1.05 else ""
    return f"fits ({o.how}); {ratio:.1f}x less throughput per dollar{speed}"


def _your_machine(
    model: ModelSpec,
    job: Job,
    current: tuple[Card, int],
    tokens: float,
    prices: PriceBook,
    calibration: dict[str, tuple[float, str]],
    winner: Option | None,
) -> MachineRow:
    card, count = current
    desc = f"{count}x {card.name}" if count > 1 else card.name
    mine = evaluate(
        model,
        job,
        card,
        max_gpus=count,
        tokens=tokens,
        prices=prices,
        new_only=False,
        mfu=calibration.get(card.name),
        gpus_fixed=count,
    )
    if mine.fits:
        summary = f"your {desc} already fits this ({mine.how}); no upgrade needed"
        if mine.job_hours is not None:
            summary += f" — about {mine.job_hours:,.1f} h per {tokens / 1e9:g}B tokens"
        if winner is not None and winner.tokens_per_second and mine.tokens_per_second:
            gain = winner.tokens_per_second / mine.tokens_per_second
            if gain > 1.5:
                summary += f"; a {winner.card} would run it {gain:.1f}x faster for ${winner.buy_usd:,.0f}"
    elif winner is not None:
        summary = (
            f"your {desc} cannot run this (needs {mine.memory_per_gpu_bytes / GIB:.0f} GiB "
            f"per GPU); the smallest upgrade that fits: {winner.card} ({winner.how}), "
            f"${winner.buy_usd:,.0f}"
        )
    else:
        summary = f"your {desc} cannot run this, and no card in the budget can"
    return MachineRow(description=desc, option=mine, summary=summary)


# --- what a machine can do (the end of `advisor check`) -------------------------------------


class Capability(BaseModel):
    model_config = ConfigDict(frozen=True)

    task: str  # "inference (fp16)", "LoRA fine-tuning (bf16)", ...
    largest: str | None  # the largest preset that fits, or None
    memory_bytes: int | None


CAPABILITY_JOBS: list[tuple[str, Job]] = [
    ("inference in fp16", Job(task="inference", precision="fp16", seq=2048)),
    ("inference in 4-bit", Job(task="inference", precision="int4", seq=2048)),
    ("QLoRA fine-tuning", Job(task="qlora", precision="bf16", seq=512, grad_checkpointing=True)),
    ("LoRA fine-tuning", Job(task="lora", precision="bf16", seq=512, grad_checkpointing=True)),
    (
        "full fine-tuning (bf16 AdamW)",
        Job(task="finetune", precision="bf16", seq=512, grad_checkpointing=True),
    ),
]


def capabilities(card: Card, presets: tuple[ModelSpec, ...]) -> list[Capability]:
    """For each kind of job, the largest language-model preset one such GPU can run."""
    lms = sorted((m for m in presets if m.kind == "decoder"), key=lambda m: m.params)
    out = []
    for label, job in CAPABILITY_JOBS:
        best = None
        for m in lms:
            report = estimate(m, job, card)
            if report.fit and report.fit.fits:
                best = (m, report.memory.total)
        out.append(
            Capability(
                task=label,
                largest=best[0].display_name if best else None,
                memory_bytes=best[1] if best else None,
            )
        )
    return out
