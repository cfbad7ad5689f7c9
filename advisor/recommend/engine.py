"""Which GPU to buy or rent for a job (pure): every card evaluated, the best value and the fastest
within the budget, rent or buy, and what would make the job fit when nothing does as asked.

Numbers and codes only; advisor/render/recommend.py writes the prose.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from advisor.choices import Host, Segment
from advisor.errors import AdvisorError
from advisor.estimate.job import Job, validate_job
from advisor.knowledge.cards import Card
from advisor.knowledge.models import ModelSpec
from advisor.knowledge.prices import PriceBook
from advisor.recommend.hosts import BLOCKING, HOSTS, MAX_GPUS, default_host, fits_host
from advisor.recommend.jobsize import JobSize
from advisor.recommend.option import ELECTRICITY_USD_PER_KWH, HEADROOM, HOST_USD, Option, evaluate

SEGMENTS: tuple[Segment, ...] = get_args(Segment)
# Rent when the job uses less than this share of the hours after which buying pays off.
RENT_SHARE = 0.25
Decision = Literal["rent", "buy", "either"]
Note = Literal[
    "checkpointing_assumed",  # LoRA/QLoRA with gradient checkpointing, as every recipe does
    "size_default",  # the job size is advisor's default
    "nothing_fits_as_asked",
    "nothing_within_budget",
    "fp16_fallback",  # some cards run it in fp16 (no bf16)
]


class RentAdvice(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision: Decision
    option: Option | None  # the cheapest way to rent the job as asked (on-demand)
    job_hours: float | None = None
    total_usd: float | None = None
    buy_break_even_hours: float | None = None  # of the buy pick


class MachineRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    description: str  # "2x GeForce RTX 3090"
    option: Option | None
    code: Literal["fits", "faster_upgrade", "lighter_only", "cannot", "cannot_no_upgrade"]
    upgrade: Option | None = None
    speedup: float | None = None


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    task: str
    size: JobSize
    host: Host
    budget_usd: float | None = None
    best_value: Option | None
    fastest: Option | None  # only when it is not the best value
    rent: RentAdvice | None
    would_fit: Option | None = None  # when nothing fits as asked within the budget: what does
    options: list[Option]
    your_machine: MachineRow | None = None
    prices_newest: str | None = None
    prices_oldest: str | None = None
    notes: list[Note] = []
    assumptions: dict[str, float] = {}

    @property
    def winner(self) -> Option | None:
        return self.best_value


def recommend(
    model: ModelSpec,
    job: Job,
    cards: tuple[Card, ...],
    prices: PriceBook,
    size: JobSize,
    *,
    budget_usd: float | None = None,
    max_gpus: int | None = None,
    segment: str | None = None,
    host: str | None = None,
    form_factors: tuple[str, ...] = (),
    new_only: bool = False,
    calibration: dict[str, tuple[float, str]] | None = None,
    current: tuple[Card, int] | None = None,
    notes: tuple[Note, ...] = (),
) -> Recommendation:
    if budget_usd is not None and budget_usd <= 0:
        raise AdvisorError(f"--budget must be a positive amount of USD, got {budget_usd:g}")
    if segment is not None and segment not in SEGMENTS:
        raise AdvisorError(f"unknown segment {segment!r}; choose one of: {', '.join(SEGMENTS)}")
    if host is not None and host not in HOSTS:
        raise AdvisorError(f"unknown host {host!r}; choose one of: {', '.join(HOSTS)}")
    where: Host = host if host in HOSTS else default_host(segment)
    cap = max_gpus if max_gpus is not None else MAX_GPUS[where]
    if not 1 <= cap <= 64:
        raise AdvisorError(f"--max-gpus must be between 1 and 64, got {cap}")
    validate_job(job, model)
    calibration = calibration or {}
    pool = [
        c for c in cards if (segment is None or c.segment == segment) and fits_host(c, where, form_factors)
    ]
    options = [
        evaluate(
            model,
            job,
            c,
            size=size,
            prices=prices,
            host=where,
            max_gpus=cap,
            new_only=new_only,
            mfu=calibration.get(c.name),
        )
        for c in pool
    ]
    buyable = [o for o in options if o.fits and o.buy_usd is not None and o.value is not None]
    within = [o for o in buyable if budget_usd is None or o.buy_usd <= budget_usd]  # type: ignore[operator]
    faithful = [o for o in within if not o.degraded]
    # A careful pick leaves room (a longer sequence, a larger batch) and runs in the precision
    # asked; a tight or fp16-only fit wins only when nothing better fits.
    # Fewer GPUs win at equal value; a build that is a project (a baseboard, risers, a second
    # circuit) is listed but not the answer.
    plain = [o for o in within if not set(o.needs) & set(BLOCKING)]
    comfortable = [o for o in plain if not o.degraded and o.headroom >= HEADROOM and not o.precision_fallback]
    single = [o for o in comfortable if o.gpus == 1]
    pick_from = single or comfortable or [o for o in plain if not o.degraded] or plain or faithful or within
    best = max(pick_from, key=lambda o: (o.value or 0, -o.gpus, o.throughput or 0), default=None)
    scaled = _scaled_out(
        model, job, pool, pick_from, size, prices, where, cap, budget_usd, new_only, calibration
    )
    fastest = max(pick_from + scaled, key=lambda o: (o.throughput or 0, -(o.buy_usd or 0)), default=None)
    if fastest is not None and fastest in scaled:
        options.append(fastest)
    if fastest is not None and best is not None and (fastest.card, fastest.gpus) == (best.card, best.gpus):
        fastest = None
    out_notes = list(notes)
    would = None
    if not faithful:
        out_notes.append(
            "nothing_fits_as_asked" if not any(not o.degraded for o in buyable) else "nothing_within_budget"
        )
        as_asked = [o for o in options if o.fits and not o.degraded]
        would = min(as_asked, key=lambda o: o.buy_usd or (o.rent_usd_for_job or 1e18), default=None)
    if any(o.precision_fallback for o in options):
        out_notes.append("fp16_fallback")
    bf16_fits = any(not o.precision_fallback for o in faithful)
    ranked = sorted((_verdict(o, best, fastest, budget_usd, bf16_fits) for o in options), key=_rank)
    best = next((o for o in ranked if o.verdict == "best_value"), None)
    fastest = next((o for o in ranked if o.verdict == "fastest"), None)
    rent = _rent_advice(options, best)
    mine = None
    if current is not None:
        mine = _your_machine(model, job, current, size, prices, calibration, best, new_only)
    dated = [o.price.date for o in ranked if o.price and o.price.basis != "launch"]
    dated += [o.rent.date for o in ranked if o.rent]
    return Recommendation(
        model=model.display_name,
        task=job.task,
        size=size,
        host=where,
        budget_usd=budget_usd,
        best_value=best,
        fastest=fastest,
        rent=rent,
        would_fit=would,
        options=ranked,
        your_machine=mine,
        prices_newest=max(dated) if dated else None,
        prices_oldest=min(dated) if dated else None,
        notes=out_notes,
        assumptions={
            "electricity_usd_per_kwh": ELECTRICITY_USD_PER_KWH,
            f"host_usd_{where}": HOST_USD[where],
            "rent_share": RENT_SHARE,
        },
    )


def _scaled_out(
    model: ModelSpec,
    job: Job,
    pool: list[Card],
    fits: list[Option],
    size: JobSize,
    prices: PriceBook,
    host: Host,
    cap: int,
    budget: float | None,
    new_only: bool,
    calibration: dict[str, tuple[float, str]],
) -> list[Option]:
    """With a budget, the cards that fit on fewer GPUs than the budget buys, on more of them: data
    parallel training or tensor-parallel inference (layer splitting gives no speed)."""
    if budget is None or (not job.training and host != "server"):
        return []
    by_name = {c.name: c for c in pool}
    out = []
    for o in fits:
        if o.price is None or o.degraded:
            continue
        for n in (2, 4, 8):
            if n <= o.gpus or n > cap or n * o.price.usd > budget:
                continue
            more = evaluate(
                model,
                job,
                by_name[o.card],
                size=size,
                prices=prices,
                host=host,
                max_gpus=n,
                new_only=new_only,
                mfu=calibration.get(o.card),
                gpus_fixed=n,
            )
            if more.fits and not more.degraded and more.gpus == n and not set(more.needs) & set(BLOCKING):
                out.append(more)
    return out


def _verdict(
    o: Option, best: Option | None, fastest: Option | None, budget: float | None, bf16_fits: bool
) -> Option:
    def same(a: Option | None) -> bool:
        return a is not None and (a.card, a.gpus, a.task, a.precision) == (
            o.card,
            o.gpus,
            o.task,
            o.precision,
        )

    code: str
    ratio = None
    if same(best):
        code = "best_value"
    elif same(fastest):
        code = "fastest"
        ratio = (o.throughput or 0) / (best.throughput or 1) if best else None
    elif not o.fits:
        code = "no_fit"
    elif (
        o.needs
        and any(n in ("sxm_baseboard", "server_airflow") for n in o.needs)
        and o.segment != "datacenter"
    ):
        code = "needs_host"
    elif o.buy_usd is None:
        code = "no_price"
    elif budget is not None and o.buy_usd > budget:
        code = "over_budget"
    elif o.degraded and best is not None and not best.degraded:
        code = "lighter_job"
    elif o.headroom < HEADROOM:
        code = "tight"
    elif best is not None and best.gpus == 1 and o.gpus > 1 and o.plan == "zero3":
        code = "more_gpus"
    elif o.precision_fallback and bf16_fits:
        code = "fp16_only"
    else:
        code = "fits"
        if best is not None and best.value and o.value:
            ratio = best.value / o.value
    return o.model_copy(update={"verdict": code, "vs_winner": ratio})


RANK: dict[str, int] = {
    "best_value": 0,
    "fastest": 1,
    "fits": 2,
    "tight": 3,
    "fp16_only": 3,
    "more_gpus": 4,
    "lighter_job": 4,
    "over_budget": 5,
    "no_price": 6,
    "needs_host": 7,
    "no_fit": 8,
}


def _rank(o: Option) -> tuple[int, float]:
    if o.verdict in ("fits", "tight", "fp16_only", "more_gpus", "lighter_job"):
        return RANK[o.verdict], -(o.value or 0)
    if o.verdict == "no_fit":
        return RANK[o.verdict], -(o.usable_per_gpu_bytes * o.gpus)
    return RANK[o.verdict], -(o.throughput or 0)


def _rent_advice(options: list[Option], best: Option | None) -> RentAdvice | None:
    """Rent or buy, for this job: buying the pick costs its cards and a host up front and its power
    per hour; renting the cheapest way to run the job as asked costs its bill. Buying pays off
    after (cards + host) / (rent bill - own power) jobs like this one; far more than one: rent."""
    rentable = [o for o in options if o.fits and not o.degraded and o.rent_usd_for_job is not None]
    cheapest = min(rentable, key=lambda o: o.rent_usd_for_job or 0, default=None)
    if cheapest is None:
        return None if best is None else RentAdvice(decision="buy", option=None)
    bill = cheapest.rent_usd_for_job or 0.0
    if best is None or best.buy_usd is None or best.job_hours is None:
        return RentAdvice(decision="rent", option=cheapest, job_hours=cheapest.job_hours, total_usd=bill)
    own_power = best.power_w / 1000 * ELECTRICITY_USD_PER_KWH * best.job_hours
    saved_per_job = bill - own_power
    jobs = (best.buy_usd + best.host_usd) / saved_per_job if saved_per_job > 0 else float("inf")
    decision: Decision = "rent" if jobs > 1 / RENT_SHARE else "buy" if jobs <= 1 else "either"
    return RentAdvice(
        decision=decision,
        option=cheapest,
        job_hours=cheapest.job_hours,
        total_usd=bill,
        buy_break_even_hours=jobs * best.job_hours if jobs != float("inf") else None,
    )


def _your_machine(
    model: ModelSpec,
    job: Job,
    current: tuple[Card, int],
    size: JobSize,
    prices: PriceBook,
    calibration: dict[str, tuple[float, str]],
    best: Option | None,
    new_only: bool,
) -> MachineRow:
    card, count = current
    desc = f"{count}x {card.name}" if count > 1 else card.name
    mine = evaluate(
        model,
        job,
        card,
        size=size,
        prices=prices,
        host="server" if card.form_factor != "pcie" else "workstation",
        max_gpus=count,
        new_only=new_only,
        mfu=calibration.get(card.name),
        gpus_fixed=count,
    )
    if mine.fits and mine.degraded:
        return MachineRow(description=desc, option=mine, code="lighter_only", upgrade=best)
    if mine.fits:
        speedup = None
        if best is not None and best.throughput and mine.throughput:
            speedup = best.throughput / mine.throughput
        code: Literal["fits", "faster_upgrade", "lighter_only", "cannot", "cannot_no_upgrade"] = (
            "faster_upgrade" if speedup and speedup > 1.5 else "fits"
        )
        return MachineRow(
            description=desc,
            option=mine,
            code=code,
            upgrade=best if code != "fits" else None,
            speedup=speedup,
        )
    if best is not None:
        return MachineRow(description=desc, option=mine, code="cannot", upgrade=best)
    return MachineRow(description=desc, option=mine, code="cannot_no_upgrade")
