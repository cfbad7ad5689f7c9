"""Run the bench worker for each device, streaming its results into a DeviceResult."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from advisor.bench.results import DeviceResult, Measured, TrainingResult
from advisor.estimate.job import Job
from advisor.estimate.memory import estimate_memory
from advisor.estimate.speed import training_flops_per_token
from advisor.knowledge.cards import Card
from advisor.knowledge.match import match_nvml
from advisor.knowledge.models import ModelSpec
from advisor.probe.worker._advisor_wire import record
from advisor.procs import Child

WORKER = Path(__file__).resolve().parent.parent / "probe" / "worker" / "bench_worker.py"

# The training workload per device class: big enough to keep a GPU busy, small enough for a CPU.
WORKLOADS: dict[str, dict[str, int]] = {
    "cpu": {"vocab": 256, "hidden": 128, "layers": 2, "heads": 4, "seq": 64, "batch": 8},
    "gpu_quick": {"vocab": 8192, "hidden": 768, "layers": 4, "heads": 12, "seq": 512, "batch": 8},
    "gpu": {"vocab": 32768, "hidden": 1536, "layers": 8, "heads": 16, "seq": 1024, "batch": 8},
}
DATASHEET = {
    "fp32": "fp32_tflops",
    "tf32": "tf32_tensor_tflops",
    "fp16": "fp16_tensor_tflops",
    "bf16": "bf16_tensor_tflops",
}

Progress = Callable[[dict[str, Any]], None]


def workload_spec(cfg: dict[str, int]) -> ModelSpec:
    """The bench's GPT as a ModelSpec, so `advisor estimate` can predict its memory."""
    h, layers, vocab = cfg["hidden"], cfg["layers"], cfg["vocab"]
    params = layers * (12 * h * h + 4 * h) + vocab * h + 2 * h
    return ModelSpec(
        name="bench-gpt",
        display_name="bench GPT",
        kind="decoder",
        params=params,
        hidden_size=h,
        num_layers=layers,
        num_attention_heads=cfg["heads"],
        intermediate_size=4 * h,
        mlp="gelu",
        norm="layernorm",
        vocab_size=vocab,
        tie_embeddings=True,
        fused_qkv=True,
        max_seq_len=cfg["seq"],
        sources=["advisor/probe/worker/bench_worker.py"],
    )


def run_device(
    python: str,
    device: str,
    *,
    budget_s: float,
    quick: bool,
    cards: tuple[Card, ...],
    on_event: Progress | None = None,
    timeout_s: float | None = None,
) -> tuple[DeviceResult, bool]:
    """Measure one device; (result, interrupted). Ctrl-C stops the worker and keeps what came."""
    kind = "cpu" if device == "cpu" else ("gpu_quick" if quick else "gpu")
    workload = dict(WORKLOADS[kind])
    batch = workload.pop("batch")
    opts = {"device": device, "budget_s": budget_s, "quick": quick, "model": workload, "batch": batch}
    events: list[dict[str, Any]] = []
    interrupted = False
    child = Child([python, str(WORKER), json.dumps(opts)], env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    limit = timeout_s or budget_s * 3 + 120  # a hung GPU must not hang advisor

    def line(text: str) -> None:
        try:
            event = record(text)
        except ValueError:
            return  # garbage from the worker: the result says what is missing
        if event is not None:
            events.append(event)
            if on_event:
                on_event(event)

    try:
        done = child.stream(limit, line)
    except KeyboardInterrupt:
        interrupted = True
        done = child.finish(0)  # already ended by stream; what it wrote so far
    try:
        result = assemble(device, events, cards, workload, batch)
    except (KeyError, TypeError, ValueError) as exc:
        result = DeviceResult(
            device=device, name=device, error=f"garbage from the bench worker: {exc!r}"[:200]
        )
        events = [e for e in events if e.get("stage") == "done"]
    if not any(e["stage"] == "done" for e in events) and not interrupted:
        tail = " | ".join(done.stderr.strip().splitlines()[-2:])
        why = "timed out" if done.timed_out else f"exit code {done.returncode}"
        if child.start_error:
            why = child.start_error
        result = result.model_copy(
            update={"error": f"the bench worker stopped early ({why})" + (f": {tail}" if tail else "")}
        )
    return result, interrupted


def assemble(
    device: str, events: list[dict[str, Any]], cards: tuple[Card, ...], workload: dict[str, int], batch: int
) -> DeviceResult:
    start = next((e for e in events if e["stage"] == "start"), {})
    name = str(start.get("name", device))
    card = match_nvml(name, None, cards) if device != "cpu" else None
    matmul = [_matmul(e, card) for e in events if e["stage"] == "matmul"]
    bandwidth = [_bandwidth(e, card) for e in events if e["stage"] == "bandwidth"]
    notes: list[str] = []
    training = None
    train = next((e for e in events if e["stage"] == "train"), None)
    if train is not None and "unavailable" not in train:
        training = _training(train, card, workload, device)
        if train["batch"] != train["requested_batch"]:
            notes.append(
                f"out of memory at batch {train['requested_batch']}: measured at batch {train['batch']}"
            )
    elif train is not None:
        notes.append(f"training workload failed: {train['unavailable']}")
    cpu = next((e for e in events if e["stage"] == "cpu_train" and "unavailable" not in e), None)
    cpu_tps = float(cpu["tokens_per_second"]) if cpu else None
    return DeviceResult(
        device=device,
        name=name,
        card=card.name if card else None,
        torch=start.get("torch"),
        matmul=matmul,
        bandwidth=bandwidth,
        training=training,
        cpu_training_tokens_per_second=cpu_tps,
        gpu_over_cpu=training.tokens_per_second / cpu_tps if training and cpu_tps else None,
        notes=notes,
        error=start.get("error"),
    )


def _matmul(e: dict[str, Any], card: Card | None) -> Measured:
    if "unavailable" in e:
        return Measured(name=e["dtype"], unit="TFLOPS", detail=e["unavailable"])
    sheet = getattr(card, DATASHEET[e["dtype"]]) if card else None
    value = float(e["tflops"])
    return Measured(
        name=e["dtype"],
        value=value,
        unit="TFLOPS",
        spread=e.get("spread"),
        datasheet=sheet,
        fraction_of_datasheet=value / sheet if sheet else None,
        detail=f"{e['n']}x{e['n']} matmul, {e['repeats']} repeats",
    )


def _bandwidth(e: dict[str, Any], card: Card | None) -> Measured:
    if "unavailable" in e:
        return Measured(name=e["kind"], unit="GB/s", detail=e["unavailable"])
    sheet = card.memory_bandwidth_gbs if card and e["kind"] == "device_copy" else None
    value = float(e["gbs"])
    return Measured(
        name=e["kind"],
        value=value,
        unit="GB/s",
        spread=e.get("spread"),
        datasheet=sheet,
        fraction_of_datasheet=value / sheet if sheet else None,
        detail=f"{e['bytes'] / 2**20:.0f} MiB",
    )


def _training(e: dict[str, Any], card: Card | None, workload: dict[str, int], device: str) -> TrainingResult:
    spec = workload_spec(e["config"])
    precision = e["precision"]
    job = Job(
        task="train",
        precision=precision if precision in ("bf16", "fp16") else "fp32",
        batch=e["batch"],
        seq=workload["seq"],
        device="cpu" if device == "cpu" else "cuda",
    )
    mem = estimate_memory(spec, job, workload["seq"])
    predicted = mem.peak  # the step's peak, as max_memory_allocated sees it
    flops = training_flops_per_token(spec, job, workload["seq"]) * e["tokens_per_second"]
    peak = None
    if card is not None:
        peak = {
            "bf16": card.bf16_tensor_tflops,
            "fp16": card.fp16_tensor_tflops,
            "fp32": card.fp32_tflops,
        }.get(precision)
    return TrainingResult(
        params=e["params"],
        batch=e["batch"],
        requested_batch=e["requested_batch"],
        seq=workload["seq"],
        precision=precision,
        tokens_per_second=e["tokens_per_second"],
        step_seconds=e["step_seconds"],
        spread=e["spread"],
        steps=e["steps"],
        loss_first=e["loss_first"],
        loss_last=e["loss_last"],
        achieved_tflops=flops / 1e12,
        mfu=flops / (peak * 1e12) if peak else None,
        peak_memory_bytes=e.get("peak_memory_bytes"),
        predicted_memory_bytes=predicted,
    )
