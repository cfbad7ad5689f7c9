"""The command line: parse, call, render. Thin on purpose; the work lives in the layers below.

Exit codes: 0 nothing failed; 1 a check found a failure; 2 usage or input error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from advisor import __version__
from advisor.errors import AdvisorError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from advisor.knowledge.cards import CardDatabase

EXIT_CODES_HELP = "Exit codes: 0 = nothing failed, 1 = a check found a failure, 2 = usage or input error."

app = typer.Typer(
    name="advisor",
    help=(
        "GPU hardware advisor for deep learning: what is in this machine, what is wrong with it "
        "and how to fix it, and which GPU a job needs.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
cards_app = typer.Typer(
    help="The GPU card database: specs with their sources.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(cards_app, name="cards")

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (one envelope, no colour) instead of text.")
]
CardsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--cards",
        help="Your own card YAML: adds cards, or overrides fields of built-in ones (e.g. prices). "
        "Repeatable. <config dir>/cards.yaml is read too.",
        envvar="ADVISOR_CARDS",
        dir_okay=False,
    ),
]

TaskOpt = Annotated[str, typer.Option(help="train | finetune | lora | qlora | inference")]
PrecisionOpt = Annotated[
    str, typer.Option(help="fp32 | fp16 | bf16 | int8 | int4 (training in fp16/bf16 means mixed precision)")
]
OptimizerOpt = Annotated[str, typer.Option(help="adamw | adam | sgd | adam8bit | adafactor")]
BatchOpt = Annotated[int, typer.Option(help="Micro-batch per GPU.")]
SeqOpt = Annotated[int | None, typer.Option(help="Sequence length (default: the model's, at most 2048).")]
CheckpointOpt = Annotated[
    bool, typer.Option("--grad-checkpointing", help="Recompute activations in backward.")
]
AttentionOpt = Annotated[str, typer.Option(help="eager | sdpa (fused; 'flash' is the same here)")]
ModelArg = Annotated[
    str,
    typer.Argument(
        help="A preset (advisor models), a size (7B, 350M, 1.3e9) or a Hugging Face config.json path."
    ),
]

T = TypeVar("T")


def _fail(command: str, message: str, as_json: bool) -> typer.Exit:
    if as_json:
        from advisor.render.jsonout import envelope

        typer.echo(envelope(command, error=message))
    else:
        typer.echo(f"advisor: error: {message}", err=True)
    return typer.Exit(2)


def _run(command: str, as_json: bool, compute: Callable[[], T]) -> T:
    """Run the pure part of a command; a user error becomes one line and exit code 2."""
    try:
        return compute()
    except AdvisorError as exc:
        raise _fail(command, str(exc), as_json) from None


def _emit(command: str, as_json: bool, result: BaseModel, renderer: str, *extra: Any) -> None:
    """JSON from the model, or the renderer ("module:function") called with a console and it.

    Renderers are imported only when text is wanted: --json never loads rich's tables.
    """
    if as_json:
        from advisor.render.jsonout import envelope

        typer.echo(envelope(command, result))
        return
    import importlib

    from advisor.render.console import make_console

    module, _, name = renderer.partition(":")
    getattr(importlib.import_module(module), name)(make_console(), result, *extra)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"advisor {__version__} (gpu-advisor)")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Show the version and exit.",
            is_eager=True,
            callback=_version_callback,
        ),
    ] = False,
) -> None:
    """GPU hardware advisor for deep learning."""


def _database(cards: list[Path] | None) -> CardDatabase:
    from advisor.knowledge.cards import load_cards

    return load_cards(tuple(cards or ()))


@cards_app.command("list")
def cards_list(
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            "-s",
            help="Sort by a figure: memory_gib, memory_bandwidth_gbs, fp32_tflops, "
            "fp16_tensor_tflops, bf16_tensor_tflops, tdp_w, release_year, launch_price_usd, "
            "... (any number field; also name, architecture, segment).",
        ),
    ] = "release_year",
    descending: Annotated[bool, typer.Option("--desc", help="Largest first.")] = False,
    segment: Annotated[
        str | None, typer.Option(help="Only consumer, workstation or datacenter cards.")
    ] = None,
    arch: Annotated[
        str | None, typer.Option("--arch", help="Only one architecture, e.g. ampere, hopper.")
    ] = None,
    min_memory: Annotated[
        float | None, typer.Option("--min-memory", help="Only cards with at least this many GB.")
    ] = None,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the known GPUs with their key figures.

    Examples: `advisor cards list --sort bf16_tensor_tflops --desc`,
    `advisor cards list --segment consumer --min-memory 24`.
    """
    from advisor.knowledge.catalog import CardListResult, select_cards

    def compute() -> CardListResult:
        db = _database(cards)
        return select_cards(
            db, sort=sort, descending=descending, segment=segment, arch=arch, min_memory=min_memory
        )

    result = _run("cards list", as_json, compute)

    _emit("cards list", as_json, result, "advisor.render.cards:render_card_table")


@cards_app.command("show")
def cards_show(
    name: Annotated[str, typer.Argument(help='A card, loosely: "3090", "v100 sxm2 32", "h100 pcie".')],
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every figure of one card, with its sources."""
    from advisor.knowledge.match import find_card

    card = _run("cards show", as_json, lambda: find_card(name, _database(cards).cards))

    _emit("cards show", as_json, card, "advisor.render.cards:render_card_sheet")


PythonOpt = Annotated[
    str | None,
    typer.Option(
        "--python",
        help="The interpreter whose PyTorch to check (default: the one running advisor). advisor "
        "runs it in a subprocess and never imports torch itself.",
    ),
]
NoPythonOpt = Annotated[
    bool, typer.Option("--no-python", help="Skip the framework probe (fast: NVML and host only).")
]
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", help="Seconds to wait for the framework probe before calling it hung."),
]


def _interpreter(python: str | None) -> str:
    from advisor.probe.spawn import resolve_interpreter

    found = resolve_interpreter(python)
    if found is None:
        raise AdvisorError(f"--python {python}: no such executable")
    return found


def _timeout(value: float) -> float:
    if not value > 0 or value > 3600:
        raise AdvisorError(f"--timeout must be between 0 and 3600 seconds, got {value:g}")
    return value


@app.command()
def probe(
    python: PythonOpt = None,
    no_python: NoPythonOpt = False,
    timeout: TimeoutOpt = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Record what is in this machine: GPUs (NVML), driver, host, and the target Python's ML stack.

    `advisor probe --json > box.json` saves a snapshot; `advisor check --snapshot box.json`
    diagnoses it on any machine.
    """
    from advisor.probe.collect import take_snapshot

    interpreter = _run("probe", as_json, lambda: _interpreter(python))
    limit = _run("probe", as_json, lambda: _timeout(timeout))
    snap = take_snapshot(interpreter, timeout_s=limit, probe_python=not no_python)

    _emit("probe", as_json, snap, "advisor.render.check:render_snapshot")


@app.command()
def check(
    python: PythonOpt = None,
    no_python: NoPythonOpt = False,
    timeout: TimeoutOpt = 60.0,
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            help="Diagnose a recorded snapshot (advisor probe --json) instead of this machine.",
            dir_okay=False,
        ),
    ] = None,
    require_gpu: Annotated[
        bool, typer.Option("--require-gpu", help="Fail (exit 1) when no NVIDIA GPU is usable.")
    ] = False,
    frameworks: Annotated[
        bool,
        typer.Option(
            "--frameworks",
            help="Also import TensorFlow and JAX to ask which GPUs they see (slower: seconds each).",
        ),
    ] = False,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Diagnose this machine: driver, CUDA, PyTorch build, GPU health; each finding with its fix.

    Exit code 0 when nothing failed, 1 when a finding failed (so `advisor check && python
    train.py` works as a preflight), 2 on bad input.
    """
    from advisor.compat.engine import CheckReport, diagnose
    from advisor.knowledge.compat import load_compat

    def compute() -> CheckReport:
        # Knowledge and renderers load while the (prestarted) worker is still importing torch.
        cards_db, compat = _database(cards), load_compat()
        if not as_json:
            import advisor.render.check  # noqa: F401
        if snapshot is not None:
            from advisor.snapshot_file import load_snapshot

            snap = load_snapshot(snapshot)
        else:
            from advisor.probe.collect import take_snapshot

            snap = take_snapshot(
                _interpreter(python),
                timeout_s=_timeout(timeout),
                probe_python=not no_python,
                frameworks=frameworks,
            )
        report = diagnose(snap, compat, cards_db.cards, require_gpu=require_gpu)
        first = next((g.card for g in report.gpus if g.card is not None and g.status == "ok"), None)
        if first is None:
            return report
        from advisor.knowledge.models import load_models
        from advisor.recommend import capabilities

        return report.model_copy(
            update={"capabilities_card": first.name, "capabilities": capabilities(first, load_models())}
        )

    report = _run("check", as_json, compute)

    _emit("check", as_json, report, "advisor.render.check:render_check")
    raise typer.Exit(report.exit_code)


@app.command()
def rules(as_json: JsonOpt = False) -> None:
    """List the diagnosis rules `advisor check` runs."""
    from pydantic import RootModel

    from advisor.compat.engine import RuleInfo, rule_list

    _emit("rules", as_json, RootModel[list[RuleInfo]](rule_list()), "advisor.render.check:render_rules")


@app.command()
def estimate(
    model: ModelArg,
    task: TaskOpt = "finetune",
    precision: PrecisionOpt = "bf16",
    optimizer: OptimizerOpt = "adamw",
    batch: BatchOpt = 1,
    seq: SeqOpt = None,
    grad_checkpointing: CheckpointOpt = False,
    attention: AttentionOpt = "sdpa",
    gpus: Annotated[int, typer.Option(help="GPUs the job runs on.")] = 1,
    sharding: Annotated[str, typer.Option(help="none | zero1 | zero2 | zero3 (FSDP)")] = "none",
    lora_rank: Annotated[int, typer.Option(help="LoRA rank (all linear layers).")] = 16,
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
    `advisor estimate 70B --task inference --precision fp16 --card h100 --gpus 2`.
    """
    from advisor.estimate.report import EstimateReport
    from advisor.estimate.report import estimate as run_estimate
    from advisor.knowledge.models import resolve_model

    def compute() -> EstimateReport:
        spec = resolve_model(model)
        job = _job(
            task, precision, optimizer, batch, seq, grad_checkpointing, attention, gpus, sharding, lora_rank
        )
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


@app.command()
def bench(
    device: Annotated[
        str | None, typer.Option(help="cpu or cuda:N (default: every visible GPU, else the CPU).")
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="About 15 seconds instead of a minute.")] = False,
    budget: Annotated[
        float | None, typer.Option(help="Seconds to spend per device (default 60, 15 with --quick).")
    ] = None,
    python: PythonOpt = None,
    save: Annotated[bool, typer.Option(help="Save the results to calibrate advisor estimate.")] = True,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure this machine: matmul TFLOPS per precision, memory bandwidth, and a small transformer
    training run (tokens/s, MFU, peak memory vs the estimate, GPU vs CPU).

    Runs in the target Python like `check` (advisor never imports torch). Ctrl-C keeps the results
    so far.
    """
    import socket
    from datetime import datetime, timezone

    from advisor.bench.results import BenchReport

    def devices() -> list[str]:
        if device is not None:
            if device != "cpu" and not (device.startswith("cuda:") and device[5:].isdigit()):
                raise AdvisorError(f"--device must be cpu or cuda:N, got {device!r}")
            return [device]
        from advisor.probe.nvml import probe_nvml

        healthy = [g.index for g in probe_nvml().gpus if g.status == "ok"]
        return [f"cuda:{i}" for i in healthy] or ["cpu"]

    interpreter = _run("bench", as_json, lambda: _interpreter(python))
    targets = _run("bench", as_json, devices)
    seconds = budget if budget is not None else (15.0 if quick else 60.0)
    if not 1 <= seconds <= 3600:
        raise _fail("bench", f"--budget must be between 1 and 3600 seconds, got {seconds:g}", as_json)
    card_db = _run("bench", as_json, lambda: _database(cards).cards)
    report = _measure(interpreter, targets, seconds, quick, card_db, live=not as_json)
    bench_report = BenchReport(
        host=socket.gethostname(),
        taken_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        python=interpreter,
        budget_s=seconds,
        interrupted=report[1],
        devices=report[0],
    )
    saved = None
    if save and any(d.training for d in bench_report.devices):
        from advisor.bench.calibration import save as save_report

        saved = str(save_report(bench_report))

    _emit("bench", as_json, bench_report, "advisor.render.bench:render_bench", saved)
    if bench_report.interrupted:
        raise typer.Exit(130)


def _measure(
    python: str, targets: list[str], seconds: float, quick: bool, cards: Any, live: bool
) -> tuple[list[Any], bool]:
    from advisor.bench.runner import run_device
    from advisor.render.console import make_console

    console = make_console(stderr=True)
    results: list[Any] = []
    interrupted = False
    for target in targets:
        status = None
        if live and console.is_terminal:
            status = console.status(f"bench {target}: starting")
            status.start()

        def progress(event: dict[str, Any], target: str = target, status: Any = status) -> None:
            what = event.get("dtype") or event.get("kind") or ""
            if status is not None:
                status.update(f"bench {target}: {event['stage']} {what}")
            elif live and event["stage"] != "done":
                console.print(f"bench {target}: {event['stage']} {what}".rstrip())

        try:
            result, interrupted = run_device(
                python, target, budget_s=seconds, quick=quick, cards=cards, on_event=progress
            )
        finally:
            if status is not None:
                status.stop()
        results.append(result)
        if interrupted:
            break
    return results, interrupted


@app.command()
def recommend(
    model: ModelArg,
    task: TaskOpt = "finetune",
    precision: PrecisionOpt = "bf16",
    optimizer: OptimizerOpt = "adamw",
    batch: BatchOpt = 1,
    seq: SeqOpt = None,
    grad_checkpointing: CheckpointOpt = False,
    attention: AttentionOpt = "sdpa",
    tokens: Annotated[
        str, typer.Option(help="Job size in tokens (training tokens, or tokens to generate): 1B, 300M, 2e9.")
    ] = "1B",
    budget: Annotated[float | None, typer.Option(help="Most you will spend on cards (USD).")] = None,
    max_gpus: Annotated[int, typer.Option(help="Most cards you would put in one machine.")] = 8,
    segment: Annotated[str | None, typer.Option(help="consumer | workstation | datacenter")] = None,
    new_only: Annotated[bool, typer.Option("--new-only", help="Only new cards (no used prices).")] = False,
    prices: Annotated[
        Path | None,
        typer.Option(
            help="Your own prices (YAML like data/prices.yaml); they win over the built-in ones.",
            dir_okay=False,
        ),
    ] = None,
    here: Annotated[bool, typer.Option(help="Include this machine's GPUs (NVML) as a row.")] = True,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which GPU to buy or rent for a model and a budget, and why each other card lost.

    Example: `advisor recommend llama-2-7b --task lora --budget 2000 --segment consumer`.
    """
    from advisor.recommend import Recommendation
    from advisor.recommend import recommend as run_recommend

    def compute() -> Recommendation:
        from advisor.bench.calibration import measured_mfu
        from advisor.estimate.speed import compute_dtype
        from advisor.knowledge.models import parse_size, resolve_model
        from advisor.knowledge.prices import load_prices

        spec = resolve_model(model)
        job = _job(task, precision, optimizer, batch, seq, grad_checkpointing, attention, 1, "none", 16)
        size = parse_size(tokens)
        if size is None:
            raise AdvisorError(f"--tokens must be a count like 1B or 300M, got {tokens!r}")
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
            budget_usd=budget,
            max_gpus=max_gpus,
            segment=segment,
            new_only=new_only,
            tokens=float(size),
            calibration=calibration,
            current=current,
        )

    result = _run("recommend", as_json, compute)

    _emit("recommend", as_json, result, "advisor.render.recommend:render_recommendation")


def _job(
    task: str,
    precision: str,
    optimizer: str,
    batch: int,
    seq: int | None,
    ckpt: bool,
    attention: str,
    gpus: int,
    sharding: str,
    lora_rank: int,
) -> Any:
    from pydantic import ValidationError

    from advisor.estimate.job import Job

    try:
        return Job(
            task=task,
            precision=precision,
            optimizer=optimizer,
            batch=batch,
            seq=seq,
            grad_checkpointing=ckpt,
            # FlashAttention and SDPA's fused kernels keep the same tensors for backward.
            attention="sdpa" if attention in ("flash", "flash2", "fa2") else attention,
            gpus=gpus,
            sharding=sharding,
            lora_rank=lora_rank,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AdvisorError(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}") from None


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


@app.command()
def cluster(
    local: Annotated[
        int | None,
        typer.Option(
            "--local", help="Launch N processes on this machine through torchrun (a quick way to try it)."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds before a silent rank is declared lost.")] = 60.0,
    backend: Annotated[str | None, typer.Option(help="nccl or gloo (default: nccl with GPUs).")] = None,
    max_size: Annotated[str, typer.Option("--max-size", help="Largest collective message: 4M, 256M.")] = "4M",
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The check on every node of a torch.distributed job, compared, and the collective
    bandwidth between them.

    Run under torchrun: `torchrun --nnodes N --nproc-per-node M -m advisor cluster`
    (each node's local rank 0 probes its node; everything is gathered on global rank 0).
    Exit codes as for check.
    """
    import os

    def plan() -> tuple[float, tuple[int, ...]]:
        import re

        if backend not in (None, "nccl", "gloo"):
            raise AdvisorError(f"--backend must be nccl or gloo, got {backend!r}")
        if not 1 <= timeout <= 86400:
            raise AdvisorError(f"--timeout must be between 1 and 86400 seconds, got {timeout:g}")
        m = re.fullmatch(r"(\d+)\s*([KMG]?)I?B?", max_size.strip().upper())
        top = int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)] if m else None
        if top is None or not 1024 <= top <= 1 << 34:
            raise AdvisorError(f"--max-size must be a byte count like 4M or 256M, got {max_size!r}")
        sizes, size = [], 1024
        while size <= top:
            sizes.append(size)
            size *= 4
        return timeout, tuple(sizes)

    limit, sizes = _run("cluster", as_json, plan)
    if local is not None:
        if not 1 <= local <= 64:
            raise _fail("cluster", f"--local must be between 1 and 64, got {local}", as_json)
        import subprocess

        argv = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            str(local),
            "-m",
            "advisor",
            "cluster",
            "--timeout",
            str(limit),
            "--max-size",
            max_size,
        ]
        argv += ["--json"] if as_json else []
        argv += ["--backend", backend] if backend else []
        raise typer.Exit(subprocess.run(argv, check=False).returncode)
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise _fail(
            "cluster",
            "not started by torchrun: run `torchrun --nnodes N --nproc-per-node "
            "M -m advisor cluster`, or `advisor cluster --local 2` on one machine",
            as_json,
        )
    from advisor.knowledge.compat import load_compat
    from advisor.probe.worker.cluster_worker import Options, run

    report = run(
        Options(timeout_s=limit, sizes=sizes, backend=backend), load_compat(), _database(cards).cards
    )
    if report is None:  # not global rank 0: rank 0 speaks for the job
        return

    _emit("cluster", as_json, report, "advisor.render.cluster:render_cluster")
    raise typer.Exit(report.exit_code)


@app.command()
def models(as_json: JsonOpt = False) -> None:
    """List the model presets `advisor estimate` knows, with their sources."""
    from pydantic import RootModel

    from advisor.knowledge.models import ModelSpec, load_models

    presets = _run("models", as_json, load_models)
    _emit(
        "models", as_json, RootModel[list[ModelSpec]](list(presets)), "advisor.render.estimate:render_models"
    )


def main() -> None:
    from advisor.probe.spawn import prestart

    # Start importing torch in the target Python now: it is the slowest part of a check.
    prestart(sys.argv[1:])
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        typer.echo("advisor: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "NoArgsIsHelpError" in kinds:  # the help has been printed
            sys.exit(0)
        if "UsageError" in kinds:  # unknown option, bad choice: one line, like every input error
            formatter = getattr(exc, "format_message", None)
            message = formatter() if callable(formatter) else str(exc)
            command = " ".join(a for a in sys.argv[1:3] if not a.startswith("-")) or "advisor"
            raise SystemExit(
                _fail(command, f"{message} (see advisor --help)", "--json" in sys.argv[1:]).exit_code
            ) from None
        raise
    sys.exit(code if isinstance(code, int) else 0)
