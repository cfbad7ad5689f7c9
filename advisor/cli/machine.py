"""Commands about this machine: probe, check, rules, bench, cluster."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from advisor.choices import Backend
from advisor.cli.app import (
    CardsOpt,
    JsonOpt,
    NoPythonOpt,
    PythonOpt,
    TimeoutOpt,
    _database,
    _emit,
    _fail,
    _interpreter,
    _run,
    _timeout,
    app,
)
from advisor.errors import AdvisorError


@app.command(short_help="Record this machine (GPUs, driver, host, Python stack).")
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


@app.command(short_help="Diagnose this machine; each finding with its fix.")
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
        bool,
        typer.Option(
            "--require-gpu",
            help="Preflight for a GPU job: fail (exit 1) when no NVIDIA GPU is usable, "
            "or when no GPU has at least half of its memory free. Without it a machine "
            "with no GPU passes with a note (CPU work is fine there).",
        ),
    ] = False,
    build_extensions: Annotated[
        bool,
        typer.Option(
            "--build-extensions",
            help="You will build CUDA extensions (flash-attn, apex, custom kernels): a missing or "
            "mismatched nvcc fails instead of warning.",
        ),
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

    The Python checked is, first found: --python, $ADVISOR_PYTHON, $VIRTUAL_ENV, $CONDA_PREFIX,
    python3 on PATH, advisor's own; the report says which.

    Exit code 0 when nothing failed, 1 when a finding failed (so `advisor check && python
    train.py` works as a preflight), 2 on bad input, 130 when interrupted.
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
        report = diagnose(
            snap, compat, cards_db.cards, require_gpu=require_gpu, build_extensions=build_extensions
        )
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


@app.command(short_help="List the finding ids check can give; explain one.")
def rules(
    finding: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="A finding id as check prints it ([driver-too-old-for-cuda]) or a rule id: explain it.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List every finding id `advisor check` can print, with its rule; or explain one.

    `advisor rules driver-too-old-for-cuda` says what the id checks, why it matters, the usual fix
    and the upstream error text it stands for (search engines find the report by that text).
    """
    from pydantic import RootModel

    if finding is None:
        from advisor.compat.engine import RuleInfo, rule_list

        listed = RootModel[list[RuleInfo]](rule_list())
        _emit("rules", as_json, listed, "advisor.render.rules:render_rules")
        return
    from advisor.compat.explain import IdExplanation, explain
    from advisor.knowledge.compat import load_compat
    from advisor.knowledge.finding_docs import load_finding_docs

    found = _run("rules", as_json, lambda: explain(finding, load_finding_docs(), load_compat()))
    _emit("rules", as_json, RootModel[list[IdExplanation]](found), "advisor.render.rules:render_explained")


@app.command(short_help="Measure matmul TFLOPS, bandwidth and a training run.")
def bench(
    device: Annotated[
        str | None,
        typer.Option(
            metavar="<cpu|cuda|cuda:N>",
            help="What to measure: cpu, cuda (every GPU) or cuda:N (default: every GPU, else the CPU).",
        ),
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="About 15 seconds instead of a minute.")] = False,
    seconds: Annotated[
        float | None,
        typer.Option(help="Seconds to spend per device (default 60, 15 with --quick)."),
    ] = None,
    python: PythonOpt = None,
    save: Annotated[bool, typer.Option(help="Save the results to calibrate advisor estimate.")] = True,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure this machine: matmul TFLOPS, memory bandwidth and a real training run.

    Matmul TFLOPS per precision, device and host-to-device bandwidth, and a small transformer
    trained for real (tokens/s, MFU, peak memory vs the estimate, GPU vs CPU), each figure beside
    the card's datasheet value. A figure whose repeats spread over 25% is flagged: something else
    is using the device, or its clocks moved.

    Runs in the target Python like `check` (advisor never imports torch). Ctrl-C keeps the results
    so far (exit code 130). Exit code 1 when nothing could be measured (no torch in the target,
    no usable device): the one line says why.

    Examples: `advisor bench --quick`, `advisor bench --device cuda:1 --seconds 30`.
    """
    import socket
    from datetime import datetime, timezone

    from advisor.bench.results import BenchReport
    from advisor.probe.nvml import probe_nvml

    gpus = [g for g in probe_nvml().gpus if g.status == "ok"]

    def devices() -> list[str]:
        every = [f"cuda:{g.index}" for g in gpus]
        if device is None:
            return every or ["cpu"]
        if device == "cpu":
            return ["cpu"]
        if device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit()):
            wanted = every if device == "cuda" else [device]
            missing = [d for d in wanted if d not in every]
            if not every or missing:
                seen = ", ".join(every) or "none"
                raise _Unusable(f"no usable NVIDIA GPU {device} (usable: {seen}); advisor check says why")
            return wanted
        raise AdvisorError(f"--device must be cpu, cuda or cuda:N, got {device!r}")

    interpreter = _run("bench", as_json, lambda: _interpreter(python)).executable
    try:
        targets = _run("bench", as_json, devices)
    except _Unusable as exc:
        raise _cannot_measure(str(exc), as_json) from None
    limit = seconds if seconds is not None else (15.0 if quick else 60.0)
    if not 1 <= limit <= 3600:
        raise _fail("bench", f"--seconds must be between 1 and 3600, got {limit:g}", as_json)
    card_db = _run("bench", as_json, lambda: _database(cards).cards)
    report = _measure(interpreter, targets, limit, quick, card_db, live=not as_json)
    bench_report = BenchReport(
        host=socket.gethostname(),
        gpu_uuids=[g.uuid.value for g in gpus if g.uuid.value],
        taken_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        python=interpreter,
        budget_s=limit,
        interrupted=report[1],
        devices=report[0],
    )
    measured = [d for d in bench_report.devices if d.matmul or d.bandwidth or d.training]
    if not measured and not bench_report.interrupted:
        why = "; ".join(f"{d.device}: {d.error or 'no figure came back'}" for d in bench_report.devices)
        raise _cannot_measure(f"nothing measured in {interpreter} ({why})", as_json)
    # The results are printed before they are saved: a failed save must not lose them.
    _emit("bench", as_json, bench_report, "advisor.render.bench:render_bench")
    if save and any(d.training for d in bench_report.devices):
        from advisor.bench.calibration import save as save_report

        saved = str(_run("bench", False, lambda: save_report(bench_report)))
        if not as_json:
            from advisor.render.bench import render_saved
            from advisor.render.console import make_console

            render_saved(make_console(), bench_report, saved)
    if bench_report.interrupted:
        raise typer.Exit(130)


class _Unusable(Exception):
    """The machine cannot be measured as asked (exit 1, not a usage error)."""


def _cannot_measure(message: str, as_json: bool) -> typer.Exit:
    one_line = " ".join(message.split())[:400]
    if as_json:
        from advisor.render.jsonout import envelope

        typer.echo(envelope("bench", error=one_line))
    else:
        typer.echo(f"advisor: bench: {one_line}", err=True)
    return typer.Exit(1)


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
        if live and sys.stderr.isatty():  # a spinner only where a person watches (not FORCE_COLOR)
            status = console.status(f"bench {target}: starting")
            status.start()

        def progress(event: dict[str, Any], target: str = target, status: Any = status) -> None:
            stage = event["stage"]
            if stage == "begin":  # what runs now: the status line names it, not the last one done
                if status is not None:
                    status.update(f"bench {target}: {event.get('what', '')} ...")
                return
            what = event.get("dtype") or event.get("kind") or ""
            if status is None and live and stage != "done":
                console.print(f"bench {target}: {stage} {what}".rstrip())

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


@app.command(short_help="Check every node of a torchrun job and compare them.")
def cluster(
    local: Annotated[
        int | None,
        typer.Option(
            "--local", help="Launch N processes on this machine through torchrun (a quick way to try it)."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds before a silent rank is declared lost.")] = 60.0,
    backend: Annotated[
        Backend | None, typer.Option(case_sensitive=False, help="Default: nccl with GPUs, else gloo.")
    ] = None,
    max_size: Annotated[str, typer.Option("--max-size", help="Largest collective message: 4M, 256M.")] = "4M",
    python: PythonOpt = None,
    cards: CardsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check every node of a torchrun job, compare them, and time the collectives.

    Run under torchrun: `torchrun --nnodes N --nproc-per-node M -m advisor cluster`
    (each node's local rank 0 probes its node; everything is gathered on global rank 0).
    With --local, torchrun runs in the Python found as for check (or --python), which needs torch
    and advisor installed. Exit codes as for check.
    """
    import os

    def plan() -> tuple[float, tuple[int, ...]]:
        import re

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
        choice = _run("cluster", as_json, lambda: _interpreter(python))
        _run("cluster", as_json, lambda: _can_run_cluster(choice))
        argv = [
            choice.executable,
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
        raise typer.Exit(_launch_local(argv, local, limit, as_json))
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


def _launch_local(argv: list[str], world: int, limit: float, as_json: bool) -> int:
    """Run torchrun (bounded, ended on every exit path) and pass rank 0's report through. When a
    rank dies, torchrun stops the others, rank 0 included, often before it can speak: advisor then
    reports the lost rank itself, from torchrun's own account of which rank exited how."""
    import sys

    from advisor import procs

    printed: list[str] = []

    def relay(line: str) -> None:
        printed.append(line)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    done = procs.Child(argv).stream(limit * 3 + 120, relay)
    if any(line.strip() for line in printed) or done.returncode == 0:
        return done.returncode if done.returncode is not None else 1
    from advisor.cluster.report import ClusterReport
    from advisor.compat.findings import Finding

    failed = [line.strip() for line in done.stderr.splitlines() if "exitcode" in line or "rank:" in line]
    why = "timed out" if done.timed_out else f"torchrun exit code {done.returncode}"
    report = ClusterReport(
        backend="unknown",
        world_size=world,
        joined=[],
        nodes=[],
        findings=[
            Finding(
                id="rank-lost",
                severity="fail",
                subject="cluster",
                summary="A rank died and torchrun stopped the job before rank 0 could report.",
                evidence=[why, *failed[:6]],
                error_text="ChildFailedError",
                fix="look at that rank's log above (torchrun prints each worker's exit code); run "
                "advisor check on its node",
            )
        ],
        exit_code=1,
    )
    _emit("cluster", as_json, report, "advisor.render.cluster:render_cluster")
    return 1


def _can_run_cluster(choice: Any) -> None:
    """torchrun runs `-m advisor cluster` inside the chosen Python: it needs torch and advisor."""
    from advisor.probe.spawn import run_bounded

    probe = "import importlib.util as u; print(*[m for m in ('torch', 'advisor') if u.find_spec(m) is None])"
    code, out = run_bounded([choice.executable, "-c", probe], timeout_s=30)
    where = f"{choice.executable} (from {choice.chosen_by})"
    if code != 0:
        raise AdvisorError(f"{where} did not answer: {out.strip() or 'no output'}")
    missing = out.split()
    if "torch" in missing:
        raise AdvisorError(
            f"{where} has no torch: advisor cluster runs a torch.distributed job; pass --python with "
            "the environment you train in"
        )
    if "advisor" in missing:
        raise AdvisorError(
            f"{where} has torch but not advisor, which torchrun runs inside that Python: install it there "
            f"({shlex.quote(choice.executable)} -m pip install gpu-advisor)"
        )
